// Click a column header with data-sort to sort the table by it (again to reverse).
(() => {
  document.querySelectorAll("table.sortable").forEach((table) => {
    table.querySelectorAll("th[data-sort]").forEach((th, column) => {
      th.classList.add("sort-header");
      th.setAttribute("role", "button");
      th.tabIndex = 0;
      const sort = () => {
        const body = table.tBodies[0];
        const ascending = th.dataset.direction !== "asc";
        table.querySelectorAll("th[data-sort]").forEach((other) => delete other.dataset.direction);
        th.dataset.direction = ascending ? "asc" : "desc";
        const numeric = th.dataset.sort === "num";
        const value = (row) => {
          const text = row.cells[column] ? row.cells[column].textContent.trim() : "";
          return numeric ? Number(text.replace(/[^0-9.-]/g, "")) || 0 : text.toLowerCase();
        };
        const rows = [...body.rows].filter((row) => row.cells.length > column);
        rows.sort((a, b) => {
          const x = value(a);
          const y = value(b);
          const order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach((row) => body.appendChild(row));
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sort();
        }
      });
    });
  });
})();
