// Upload page: drag and drop, client-side checks, one multipart request with
// per-file progress (files are sent in order, so the bytes sent so far tell
// which file is on the wire), then on to the analysis page.
(() => {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("id_files");
  const zone = document.getElementById("dropzone");
  const list = document.getElementById("file-list");
  const status = document.getElementById("upload-status");
  const button = document.getElementById("upload-button");
  const maxFileBytes = Number(form.dataset.maxFileBytes);
  const maxFiles = Number(form.dataset.maxFiles);
  // Empty when the team has no quota. The server checks again; this only saves
  // sending bytes that would be refused.
  const quotaFree = form.dataset.quotaFreeBytes === "" ? null : Number(form.dataset.quotaFreeBytes);
  let chosen = [];

  const human = (n) => (n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);

  function render() {
    list.replaceChildren();
    chosen.forEach((item, index) => {
      const li = document.createElement("li");
      li.dataset.index = String(index);
      const name = document.createElement("span");
      name.className = "file-name";
      name.textContent = `${item.file.name} (${human(item.file.size)})`;
      li.appendChild(name);
      if (item.problem) {
        const problem = document.createElement("span");
        problem.className = "error";
        problem.textContent = item.problem;
        li.appendChild(problem);
      } else {
        const bar = document.createElement("progress");
        bar.max = 100;
        bar.value = 0;
        li.appendChild(bar);
      }
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary outline small";
      remove.textContent = "Remove";
      remove.addEventListener("click", () => {
        chosen.splice(index, 1);
        render();
      });
      li.appendChild(remove);
      list.appendChild(li);
    });
  }

  function add(files) {
    for (const file of files) {
      let problem = "";
      if (file.size > maxFileBytes) problem = `larger than the ${human(maxFileBytes)} limit per file`;
      else if (file.size === 0) problem = "empty file";
      chosen.push({ file, problem });
    }
    if (chosen.length > maxFiles) {
      status.textContent = `At most ${maxFiles} files per analysis; the rest were left out.`;
      chosen = chosen.slice(0, maxFiles);
    }
    render();
  }

  input.addEventListener("change", () => {
    add(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach((type) =>
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    }),
  );
  ["dragleave", "drop"].forEach((type) =>
    zone.addEventListener(type, () => zone.classList.remove("dragging")),
  );
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    add(event.dataTransfer.files);
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const sendable = chosen.filter((item) => !item.problem);
    if (sendable.length === 0) {
      status.textContent = "Choose at least one log file to analyse.";
      return;
    }
    const size = sendable.reduce((sum, item) => sum + item.file.size, 0);
    if (quotaFree !== null && size > quotaFree) {
      status.textContent =
        `These files (${human(size)}) do not fit in ${form.dataset.teamName}'s storage quota ` +
        `(${human(quotaFree)} left). Delete old analyses of the team to make room.`;
      status.className = "error";
      return;
    }
    const data = new FormData();
    for (const field of form.querySelectorAll("input:not([type=file]), select")) {
      if (field.name) data.append(field.name, field.value);
    }
    sendable.forEach((item) => data.append("files", item.file, item.file.name));
    const bars = [...list.querySelectorAll("li")].map((li) => li.querySelector("progress"));
    const offsets = [];
    let total = 0;
    chosen.forEach((item) => {
      offsets.push(total);
      if (!item.problem) total += item.file.size;
    });

    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    xhr.upload.addEventListener("progress", (e) => {
      // e.total includes multipart overhead; scale it away.
      const sent = e.lengthComputable ? (e.loaded / e.total) * total : 0;
      chosen.forEach((item, i) => {
        if (item.problem || !bars[i]) return;
        const done = Math.min(Math.max(sent - offsets[i], 0), item.file.size);
        bars[i].value = item.file.size ? (done / item.file.size) * 100 : 100;
      });
      status.textContent = `Uploading… ${Math.round((sent / total) * 100)}%`;
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch (err) {
        body = {};
      }
      if (xhr.status === 202 && body.url) {
        bars.forEach((bar) => bar && (bar.value = 100));
        status.textContent = "Uploaded. Opening the analysis…";
        window.location.assign(body.url);
        return;
      }
      const messages = (body.error && body.error.messages) || [`The upload failed (HTTP ${xhr.status}).`];
      status.textContent = messages.join(" ");
      status.className = "error";
      button.disabled = false;
    });
    xhr.addEventListener("error", () => {
      status.textContent = "The connection broke during the upload; please try again.";
      status.className = "error";
      button.disabled = false;
    });
    button.disabled = true;
    status.className = "muted";
    xhr.send(data);
  });
})();
