// Analysis page: draw the server-built Plotly figures (a click on a bar or a slice
// opens its lines), poll the status while the analysis is queued or running (then
// reload), and the auto-refresh switch.
(() => {
  // --- charts -------------------------------------------------------------
  // A bar chart's labels are cut shorter on a narrow chart (the server sends both
  // cuts), so that a phone keeps room for the bars.
  const NARROW = 560;

  // Drill-down: the server puts the Lines URL of each point in layout.meta.links
  // (per trace, per point; "" where there is none, such as "(other)"). The point is
  // found by its index, not its category: bar categories are ranks (#1, #2…).
  const linkOf = (links, point) => {
    const urls = links[point.curveNumber];
    const url = urls && urls[point.pointNumber];
    return typeof url === "string" && url.startsWith("/") ? url : "";
  };
  const drillDown = (div, links) => {
    if (!links) return;
    div.classList.add("drillable");
    div.on("plotly_click", (event) => {
      const url = event && event.points && event.points.length ? linkOf(links, event.points[0]) : "";
      if (url) window.location.assign(url);
    });
    // Plotly's drag layer draws a crosshair; a point with lines shows a hand instead.
    const cursor = (value) => {
      div.querySelectorAll(".nsewdrag").forEach((layer) => {
        layer.style.cursor = value;
      });
    };
    div.on("plotly_hover", (event) => {
      cursor(event.points.some((p) => linkOf(links, p)) ? "pointer" : "");
    });
    div.on("plotly_unhover", () => cursor(""));
  };
  if (window.Plotly) {
    document.querySelectorAll("[data-figure]").forEach((div) => {
      const source = document.getElementById(div.dataset.figure);
      if (!source) return;
      const figure = JSON.parse(source.textContent);
      const narrow = figure.layout.meta && figure.layout.meta.ticktext_narrow;
      if (narrow && div.clientWidth < NARROW) figure.layout.yaxis.ticktext = narrow;
      window.Plotly.newPlot(div, figure.data, figure.layout, {
        responsive: true,
        displaylogo: false,
      });
      drillDown(div, (figure.layout.meta && figure.layout.meta.links) || null);
    });
  }

  // --- live status --------------------------------------------------------
  const live = document.getElementById("live-status");
  if (live) {
    const url = live.dataset.statusUrl;
    const stage = document.getElementById("stage");
    const percent = document.getElementById("percent");
    const bar = document.getElementById("progress");
    const badge = document.getElementById("status-badge");
    const poll = async () => {
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (response.ok) {
          const data = await response.json();
          stage.textContent = data.stage;
          percent.textContent = `${data.progress}%`;
          bar.value = data.progress;
          badge.textContent = data.status;
          badge.className = `badge badge-${data.status}`;
          if (data.terminal) {
            window.location.reload();
            return;
          }
        }
      } catch (err) {
        stage.textContent = "Connection lost, retrying…";
      }
      window.setTimeout(poll, 1000);
    };
    window.setTimeout(poll, 500);
  }

  // --- auto-refresh -------------------------------------------------------
  const toggle = document.getElementById("auto-refresh");
  if (toggle) {
    const key = "logplatform.autoRefresh";
    const seconds = Number(toggle.dataset.seconds) || 10;
    let timer = null;
    const apply = () => {
      window.clearInterval(timer);
      if (toggle.checked) timer = window.setInterval(() => window.location.reload(), seconds * 1000);
    };
    toggle.checked = window.localStorage.getItem(key) === "on";
    toggle.addEventListener("change", () => {
      window.localStorage.setItem(key, toggle.checked ? "on" : "off");
      apply();
    });
    apply();
  }
})();
