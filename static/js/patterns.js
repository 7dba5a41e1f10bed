// The Patterns page: the filter box hides, as you type, the rows whose template
// does not hold the text (any case); the form still filters on the server.
(() => {
  const box = document.getElementById("patterns-filter");
  if (!box) return;
  const rows = [...document.querySelectorAll(".patterns-table tbody tr.pattern")];
  const none = document.getElementById("filter-none");
  const more = document.getElementById("t-patterns-more");
  const apply = () => {
    const needle = box.value.trim().toLowerCase();
    let shown = 0;
    let shownRest = 0;
    rows.forEach((row) => {
      const hit = !needle || row.dataset.template.includes(needle);
      row.hidden = !hit;
      if (hit) {
        shown += 1;
        if (more && more.contains(row)) shownRest += 1;
      }
    });
    if (none) none.hidden = shown > 0 || rows.length === 0;
    // Matches past the top 100 are shown without a click on "Show all".
    if (more && needle && shownRest > 0) more.open = true;
  };
  box.addEventListener("input", apply);
})();
