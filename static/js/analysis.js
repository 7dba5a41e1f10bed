// Analysis page: poll the status while the analysis is queued or running, then reload.
(() => {
  const live = document.getElementById("live-status");
  if (!live) return;
  const url = live.dataset.statusUrl;
  const stage = document.getElementById("stage");
  const bar = document.getElementById("progress");
  const badge = document.getElementById("status-badge");
  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        stage.textContent = data.stage;
        bar.value = data.progress;
        bar.textContent = `${data.progress}%`;
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
  }
  window.setTimeout(poll, 500);
})();
