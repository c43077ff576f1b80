// The dashboard's little JavaScript: signing in inside Telegram, confirming what cannot
// be undone, a broadcast's live progress, and the statistics' charts. No build step.
"use strict";

// Inside Telegram the Mini App's URL carries initData in its fragment (tgWebAppData):
// posted to the server, which checks Telegram's signature and starts a session.
function signInFromTelegram() {
  const status = document.getElementById("webapp-status");
  if (!status) return;
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const initData = fragment.get("tgWebAppData");
  if (!initData) return;
  const body = new URLSearchParams({ init_data: initData });
  fetch("/signin/webapp", { method: "POST", body, credentials: "same-origin" })
    .then((answer) => {
      if (answer.ok) window.location.replace(window.location.pathname + window.location.search);
      else status.textContent = status.dataset.failed;
    })
    .catch(() => { status.textContent = status.dataset.failed; });
}

function confirmDangerous() {
  document.querySelectorAll("button[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function followProgress() {
  const box = document.getElementById("progress");
  if (!box) return;
  const bar = box.querySelector("progress");
  const line = box.querySelector(".status");
  const poll = () => {
    fetch(box.dataset.url, { credentials: "same-origin" })
      .then((answer) => answer.json())
      .then((state) => {
        bar.max = state.total || 1;
        bar.value = state.done;
        const finished = state.left === 0 || state.status === "done" || state.status === "cancelled";
        line.textContent = fill(finished ? box.dataset.finished : box.dataset.sending, state);
        box.dataset.state = finished ? "finished" : "sending";
        if (!finished) window.setTimeout(poll, 1000);
      })
      .catch(() => window.setTimeout(poll, 3000));
  };
  poll();
}

function drawCharts() {
  const box = document.getElementById("charts");
  if (!box || typeof Chart === "undefined") return;
  const charts = JSON.parse(box.dataset.charts);
  const style = getComputedStyle(document.documentElement);
  Chart.defaults.color = style.getPropertyValue("--fg").trim() || "#1d2330";
  const colours = ["#2a7ab8", "#2e9d5b", "#d99a1c", "#c9432f", "#7b5ea7", "#4aa3a2", "#8c8c8c"];
  const draw = (key, type, extra) => {
    const [title, points] = charts[key];
    const canvas = document.getElementById("chart-" + key);
    if (!points.length) {
      canvas.closest("figure").dataset.empty = box.dataset.empty;
    }
    new Chart(canvas, {
      type,
      data: {
        labels: points.map((p) => p[0]),
        datasets: [{ label: title, data: points.map((p) => p[1]), backgroundColor: colours,
          borderColor: colours[0] }],
      },
      options: Object.assign({ responsive: true, maintainAspectRatio: false,
        plugins: { title: { display: true, text: points.length ? title : title + " · " + box.dataset.empty },
          legend: { display: type === "doughnut" } } }, extra || {}),
    });
  };
  draw("pairs", "bar");
  draw("people", "doughnut");
  draw("dialogs", "bar");
  draw("mood", "line", { scales: { y: { min: 1, max: 5 } } });
  draw("wheel", "bar", { indexAxis: "y" });
}

document.addEventListener("DOMContentLoaded", () => {
  signInFromTelegram();
  confirmDangerous();
  followProgress();
  drawCharts();
});
