// The painterly page: plain JavaScript on the HTTP API described at /openapi.json.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  fields: [], limits: {}, content: null, styles: [], runId: null, events: null,
};
const FINAL = ["done", "cancelled", "failed", "interrupted"];
const SKIP_FIELDS = ["style_weight"];  // set by the balance slider

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : null;
  if (!response.ok) {
    throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  }
  return body;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "…";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// ---------- images: upload, examples, previews ----------

function showThumbs() {
  const draw = (box, items, remove) => {
    box.replaceChildren(...items.map((item, index) => {
      const thumb = el("div", {class: "thumb" + (item.pending ? " pending" : "")},
        el("img", {src: item.preview, alt: item.name}), el("span", {text: item.name}));
      const button = el("button", {type: "button", title: "remove", text: "×"});
      button.addEventListener("click", () => remove(index));
      thumb.append(button);
      return thumb;
    }));
  };
  draw($("content-thumbs"), state.content ? [state.content] : [], () => {
    state.content = null; showThumbs();
  });
  draw($("style-thumbs"), state.styles, (index) => {
    state.styles.splice(index, 1); showThumbs();
  });
}

async function uploadFile(file, kind) {
  const message = $(`${kind}-message`);
  const item = {ref: null, name: file.name, preview: URL.createObjectURL(file), pending: true};
  if (state.limits.max_upload_bytes && file.size > state.limits.max_upload_bytes) {
    const mb = Math.round(state.limits.max_upload_bytes / 1048576);
    message.textContent = `${file.name} is larger than the upload limit of ${mb} MB`;
    return;
  }
  if (kind === "content") state.content = item; else state.styles.push(item);
  showThumbs();
  try {
    const upload = await api(`/api/uploads?name=${encodeURIComponent(file.name)}`, {
      method: "POST", headers: {"Content-Type": "application/octet-stream"}, body: file,
    });
    item.ref = upload.id; item.pending = false; item.preview = upload.preview;
  } catch (error) {
    message.textContent = error.message;
    if (kind === "content") { if (state.content === item) state.content = null; }
    else state.styles = state.styles.filter((other) => other !== item);
  }
  showThumbs();
}

function handleFiles(files, kind) {
  $(`${kind}-message`).textContent = "";
  const list = Array.from(files);
  for (const file of kind === "content" ? list.slice(0, 1) : list) uploadFile(file, kind);
}

function setUpDrop(kind) {
  const drop = $(`${kind}-drop`);
  $(`${kind}-file`).addEventListener("change", (event) => {
    handleFiles(event.target.files, kind);
    event.target.value = "";
  });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    handleFiles(event.dataTransfer.files, kind);
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") $(`${kind}-file`).click();
  });
}

async function loadExamples() {
  const [examples, uploads] = await Promise.all([api("/api/examples"), api("/api/uploads")]);
  const known = {};
  for (const select of [$("content-example"), $("style-example")]) {
    const builtIn = el("optgroup", {label: "built-in"});
    for (const example of examples) {
      const label = example.name.replace(/_/g, " ");
      known[example.name] = {ref: example.name, name: label, preview: example.preview};
      builtIn.append(el("option", {value: example.name, text: label}));
    }
    select.append(builtIn);
    if (uploads.length) {  // earlier uploads in this data folder, to use again
      const earlier = el("optgroup", {label: "uploaded before"});
      for (const upload of uploads) {
        known[upload.id] = {ref: upload.id, name: upload.name, preview: upload.preview};
        earlier.append(el("option", {value: upload.id, text: upload.name}));
      }
      select.append(earlier);
    }
  }
  const pick = (kind) => (event) => {
    const item = known[event.target.value];
    if (!item) return;
    $(`${kind}-message`).textContent = "";
    if (kind === "content") state.content = {...item}; else state.styles.push({...item});
    event.target.value = "";
    showThumbs();
  };
  $("content-example").addEventListener("change", pick("content"));
  $("style-example").addEventListener("change", pick("style"));
}

// ---------- settings ----------

function fieldInput(field) {
  const id = `opt-${field.name}`;
  let input;
  const value = field.name in state.suggested ? state.suggested[field.name] : field.default;
  if (field.choices && field.kind === "text") {
    input = el("select", {id});
    if (field.optional) input.append(el("option", {value: "", text: "—"}));
    for (const choice of field.choices) input.append(el("option", {value: choice, text: choice}));
    input.value = value === null ? "" : value;
  } else if (field.kind === "bool") {
    input = el("input", {id, type: "checkbox"});
    input.checked = Boolean(value);
  } else if (field.kind === "int" || field.kind === "float") {
    input = el("input", {id, type: "number", step: field.kind === "int" ? "1" : "any"});
    input.value = value === null ? "" : value;
    if (field.optional) input.placeholder = "off";
  } else {
    input = el("input", {id, type: "text"});
    input.value = Array.isArray(value) ? value.join(",") : (value === null ? "" : value);
    if (field.optional) input.placeholder = "off";
    if (field.kind === "list" || field.kind === "numbers") input.title = "comma-separated";
  }
  input.dataset.name = field.name;
  const box = el("div", {class: "field"}, el("label", {for: id, text: field.label}), input);
  if (field.kind === "list" && field.choices) {
    box.append(el("small", {text: "comma-separated, e.g. " + field.default.join(",")}));
  }
  return box;
}

function readField(field) {
  const input = $(`opt-${field.name}`);
  if (field.kind === "bool") return input.checked;
  const text = input.value.trim();
  if (text === "") return field.optional ? null : field.default;
  if (field.kind === "int" || field.kind === "float") return Number(text);
  const parts = text.split(",").map((part) => part.trim()).filter(Boolean);
  if (field.kind === "list") return parts;
  if (field.kind === "numbers") return parts.map(Number);
  if (field.name === "layer_weights" && !field.choices.includes(text)) return parts.map(Number);
  return text;
}

function styleWeight() {
  const field = state.fields.find((f) => f.name === "style_weight");
  return field.default * Math.pow(10, Number($("balance").value));
}

function showBalance() {
  $("balance-value").textContent = `(style weight ${Number(styleWeight().toPrecision(2))})`;
}

async function loadOptions() {
  const options = await api("/api/options");
  state.fields = options.fields;
  state.limits = options.limits;
  state.suggested = options.suggested;
  for (const field of state.fields) {
    if (SKIP_FIELDS.includes(field.name)) continue;
    $(field.section === "main" ? "main-fields" : "advanced-fields").append(fieldInput(field));
  }
  $("balance").addEventListener("input", showBalance);
  showBalance();
  for (const name of options.layers) $("feature-layer").append(el("option", {value: name, text: name}));
  for (const name of options.conv_layers) $("filter-layer").append(el("option", {value: name, text: name}));
}

function collectOptions() {
  const options = {};
  for (const field of state.fields) {
    if (SKIP_FIELDS.includes(field.name)) continue;
    const value = readField(field);
    if (JSON.stringify(value) !== JSON.stringify(field.default)) options[field.name] = value;
  }
  if (Number($("balance").value) !== 0) options.style_weight = styleWeight();
  return options;
}

// ---------- runs ----------

async function start() {
  const message = $("start-message");
  message.textContent = "";
  if (!state.content || state.content.pending) { message.textContent = "Choose a content image first."; return; }
  if (!state.styles.length || state.styles.some((s) => s.pending)) {
    message.textContent = "Choose at least one style image first."; return;
  }
  $("start").disabled = true;
  try {
    const run = await api("/api/runs", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({content: state.content.ref, styles: state.styles.map((s) => s.ref),
                            options: collectOptions()}),
    });
    attach(run.id);
    loadGallery();
  } catch (error) {
    message.textContent = error.message;
  } finally {
    $("start").disabled = false;
  }
}

function imageUrl(ref) {
  return /^[0-9a-f]{16}$/.test(ref) ? `/api/uploads/${ref}/preview.png` : `/api/examples/${ref}/preview.png`;
}

function describeProgress(run) {
  const p = run.progress;
  if (run.state === "queued") {
    return `Waiting in the queue: position ${run.queue_position ?? "?"}.`;
  }
  if (run.state === "running" && !p) return "Starting (loading the network)…";
  if (run.state === "running") {
    const scale = p.scales > 1 ? `scale ${p.scale}/${p.scales} (${p.width}×${p.height}), ` : "";
    return `Running: ${scale}step ${p.step}/${p.steps}, ${p.done}/${p.total} overall, ` +
      `loss ${p.loss.toPrecision(4)}, ETA ${clock(p.eta)}`;
  }
  if (run.state === "done") {
    const r = run.result;
    return `Done: ${r.width}×${r.height}, ${r.evaluations} evaluations in ${r.seconds} s, ` +
      `loss ${r.loss === null ? "–" : r.loss.toPrecision(4)}.`;
  }
  if (run.state === "cancelled") return "Cancelled" + (run.result ? ": the best image so far is kept." : ".");
  return `${run.state === "failed" ? "Failed" : "Interrupted"}: ${run.error}`;
}

function render(run) {
  if (run.id !== state.runId) return;
  $("run-status").textContent = describeProgress(run);
  $("run-status").dataset.state = run.state;
  const bar = $("run-progress");
  bar.max = run.progress ? run.progress.total : 1;
  bar.value = run.state === "done" ? bar.max : (run.progress ? run.progress.done : 0);
  $("run-content").src = imageUrl(run.content);
  $("run-style").src = imageUrl(run.styles[0]);
  const image = $("run-image");
  if (run.image && image.dataset.version !== String(run.image_version)) {
    image.src = `${run.image}?v=${run.image_version}`;
    image.dataset.version = String(run.image_version);
  } else if (!run.image) {
    image.removeAttribute("src");
    image.dataset.version = "0";
  }
  $("run-caption").textContent = run.state === "done" ? "result" : `${run.state}`;
  const download = $("download");
  if (run.download) {
    download.href = run.download;
    download.setAttribute("download", `painterly-${run.id}.png`);
    download.classList.remove("hidden");
  } else {
    download.classList.add("hidden");
  }
  $("cancel").disabled = FINAL.includes(run.state);
  for (const card of document.querySelectorAll(".card")) {
    card.classList.toggle("selected", card.dataset.run === run.id);
  }
}

function attach(runId) {
  if (state.events) state.events.close();
  state.runId = runId;
  history.replaceState(null, "", `#run=${runId}`);
  const events = new EventSource(`/api/runs/${runId}/events`);
  state.events = events;
  events.addEventListener("state", (event) => {
    const run = JSON.parse(event.data);
    render(run);
    updateCard(run);
    if (FINAL.includes(run.state)) {
      events.close();
      if (state.events === events) state.events = null;
      loadGallery();
    }
  });
  events.onerror = () => {
    // the server went away: EventSource retries by itself; show the last known state
    const status = $("run-status");
    if (!status.textContent.endsWith("retrying…)")) status.textContent += " (connection lost, retrying…)";
  };
}

async function cancel() {
  if (!state.runId) return;
  try {
    render(await api(`/api/runs/${state.runId}/cancel`, {method: "POST"}));
  } catch (error) {
    $("start-message").textContent = error.message;
  }
}

function settingsText(run) {
  const parts = Object.entries(run.options).map(([key, value]) =>
    `${key.replace(/_/g, " ")} ${Array.isArray(value) ? value.join(",") : value}`);
  return parts.length ? parts.join(" · ") : "defaults";
}

function card(run) {
  const names = run.names || {};
  const title = `${names[run.content] || run.content} × ${run.styles.map((s) => names[s] || s).join(" + ")}`;
  const node = el("div", {class: "card", "data-run": run.id, tabindex: "0"});
  node.append(el("img", {alt: title, src: run.image ? `${run.image}?v=${run.image_version}` : imageUrl(run.content)}),
    el("div", {text: title}), el("div", {class: "state", text: run.state}),
    el("div", {class: "settings", text: settingsText(run)}));
  node.addEventListener("click", () => attachOrShow(run.id));
  return node;
}

function updateCard(run) {
  const old = document.querySelector(`.card[data-run="${run.id}"]`);
  if (!old) return;
  const stateNode = old.querySelector(".state");
  const text = run.state === "queued" ? `queued (#${run.queue_position})` :
    run.state === "running" && run.progress ? `running ${run.progress.done}/${run.progress.total}` : run.state;
  if (stateNode.textContent !== text) stateNode.textContent = text;
  const img = old.querySelector("img");
  if (run.image && img.dataset.version !== String(run.image_version)) {
    img.src = `${run.image}?v=${run.image_version}`;
    img.dataset.version = String(run.image_version);
  }
}

async function attachOrShow(runId) {
  const run = await api(`/api/runs/${runId}`);
  if (FINAL.includes(run.state)) {
    if (state.events) { state.events.close(); state.events = null; }
    state.runId = runId;
    history.replaceState(null, "", `#run=${runId}`);
    render(run);
  } else {
    attach(runId);
  }
}

async function loadGallery() {
  const runs = await api("/api/runs");
  $("gallery").replaceChildren(...runs.map(card));
  if (state.runId) {
    for (const node of document.querySelectorAll(".card")) {
      node.classList.toggle("selected", node.dataset.run === state.runId);
    }
  }
  return runs;
}

// ---------- experiments ----------

function showFigure(kind, url) {
  const image = $(`${kind}-image`);
  const message = $(`${kind}-message`);
  message.textContent = "Computing…";
  fetch(url).then(async (response) => {
    if (!response.ok) throw new Error((await response.json()).error);
    image.src = URL.createObjectURL(await response.blob());
    message.textContent = "";
  }).catch((error) => { message.textContent = error.message; });
}

function setUpLab() {
  $("show-features").addEventListener("click", () => {
    if (!state.content || !state.content.ref) {
      $("features-message").textContent = "Choose a content image first."; return;
    }
    const layer = $("feature-layer").value;
    showFigure("features", `/api/experiments/features.png?image=${state.content.ref}&layer=${layer}&count=32`);
  });
  $("show-filters").addEventListener("click", () => {
    showFigure("filters", `/api/experiments/filters.png?layer=${$("filter-layer").value}&count=64`);
  });
}

// ---------- start ----------

async function main() {
  setUpDrop("content");
  setUpDrop("style");
  setUpLab();
  $("start").addEventListener("click", start);
  $("cancel").addEventListener("click", cancel);
  await Promise.all([loadOptions(), loadExamples()]);
  const runs = await loadGallery();
  const match = location.hash.match(/run=([0-9a-f]{16})/);
  const active = runs.find((run) => !FINAL.includes(run.state));
  const chosen = match ? match[1] : (active ? active.id : null);
  if (chosen && runs.some((run) => run.id === chosen)) await attachOrShow(chosen);
  document.body.dataset.ready = "true";
}

main().catch((error) => { $("start-message").textContent = `The page could not load: ${error.message}`; });
