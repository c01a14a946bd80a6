// The painterly page: plain JavaScript on the HTTP API described at /openapi.json.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  fields: [], limits: {}, content: null, styles: [], reconstruction: null,
  clip: null, video: {fields: [], suggested: {}, limits: {}},
};
// Where a run is shown: the result panel (transfers), the reconstructions block of the lab, or
// the video section. One implementation (attach, render, cancel) serves all three.
const views = {
  transfer: {status: "run-status", bar: "run-progress", image: "run-image", download: "download",
             cancel: "cancel", message: "start-message", runId: null, events: null},
  reconstruct: {status: "recon-status", bar: "recon-progress", image: "recon-image",
                download: "recon-download", cancel: "recon-cancel", message: "recon-message",
                runId: null, events: null},
  video: {status: "video-status", bar: "video-progress", image: "video-frame",
          download: "video-download", cancel: "video-cancel", message: "video-message",
          runId: null, events: null},
};
const viewOf = (run) => views[!run.kind || run.kind === "transfer" ? "transfer" :
  run.kind === "video" ? "video" : "reconstruct"];
const FINAL = ["done", "cancelled", "failed", "interrupted"];
const bySlider = (field) => field.control === "slider";  // strength: the balance slider

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
  draw($("video-style-thumbs"), state.styles, (index) => {
    state.styles.splice(index, 1); showThumbs();
  });
  draw($("video-thumbs"), state.clip ? [state.clip] : [], () => {
    state.clip = null; showThumbs();
  });
  $("video-clip-facts").textContent = state.clip && state.clip.facts ? state.clip.facts : "";
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

function clipFacts(upload) {
  return `${upload.name}: ${upload.frames} frames, ${upload.width}×${upload.height}, ` +
    `${upload.seconds} s at ${upload.fps} fps`;
}

function clipItem(upload) {
  return {ref: upload.id, name: upload.name, preview: upload.preview, facts: clipFacts(upload)};
}

async function uploadClip(file) {
  const message = $("video-clip-message");
  message.textContent = "";
  const limit = state.video.limits.max_upload_bytes;
  if (limit && file.size > limit) {
    message.textContent = `${file.name} is larger than the video upload limit of ${Math.round(limit / 1048576)} MB`;
    return;
  }
  const item = {ref: null, name: file.name, preview: "", pending: true};
  state.clip = item;
  showThumbs();
  try {
    const upload = await api(`/api/uploads?kind=video&name=${encodeURIComponent(file.name)}`, {
      method: "POST", headers: {"Content-Type": "application/octet-stream"}, body: file,
    });
    Object.assign(item, clipItem(upload), {pending: false});
  } catch (error) {
    message.textContent = error.message;
    if (state.clip === item) state.clip = null;
  }
  showThumbs();
}

function setUpClipDrop() {
  const drop = $("video-drop");
  $("video-file").addEventListener("change", (event) => {
    if (event.target.files.length) uploadClip(event.target.files[0]);
    event.target.value = "";
  });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) uploadClip(event.dataTransfer.files[0]);
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") $("video-file").click();
  });
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
  const [examples, all] = await Promise.all([api("/api/examples"), api("/api/uploads")]);
  const uploads = all.filter((upload) => upload.kind !== "video");
  const clips = all.filter((upload) => upload.kind === "video");
  const known = {};
  const clipsById = {};
  for (const clip of clips) {
    clipsById[clip.id] = clipItem(clip);
    $("video-upload").append(el("option", {value: clip.id, text: clip.name}));
  }
  $("video-upload").addEventListener("change", (event) => {
    const item = clipsById[event.target.value];
    if (!item) return;
    $("video-clip-message").textContent = "";
    state.clip = {...item};
    event.target.value = "";
    showThumbs();
  });
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

// The form fields come from the option declarations (/api/options); the transfer form's ids
// start with "opt-", the video form's with "video-opt-".
function fieldInput(field, prefix = "opt-", suggested = state.suggested) {
  const id = `${prefix}${field.name}`;
  let input;
  const value = field.name in suggested ? suggested[field.name] : field.default;
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

function readField(field, prefix = "opt-") {
  const input = $(`${prefix}${field.name}`);
  if (field.kind === "bool") return input.checked;
  const text = input.value.trim();
  if (text === "") return field.optional ? null : field.default;
  if (field.kind === "int" || field.kind === "float") return Number(text);
  const parts = text.split(",").map((part) => part.trim()).filter(Boolean);
  if (field.kind === "list") return parts;
  if (field.kind === "numbers") return parts.map(Number);
  if ((field.kinds || []).includes("numbers") && !(field.choices || []).includes(text)) return parts.map(Number);
  return text;
}

function strength() {
  return Math.pow(10, Number($("balance").value));
}

function showBalance() {
  $("balance-value").textContent = `(style strength ${Number(strength().toPrecision(2))})`;
}

async function loadOptions() {
  const options = await api("/api/options");
  state.fields = options.fields;
  state.limits = options.limits;
  state.suggested = options.suggested;
  for (const field of state.fields) {
    if (bySlider(field)) {
      $("balance").min = String(Math.log10(field.min));
      $("balance").max = String(Math.log10(field.max));
      $("balance").title = field.help;
      continue;
    }
    $(field.section === "main" ? "main-fields" : "advanced-fields").append(fieldInput(field));
  }
  $("balance").addEventListener("input", showBalance);
  showBalance();
  setUpVideoFields(options.video);
  for (const name of options.layers) $("feature-layer").append(el("option", {value: name, text: name}));
  for (const name of options.conv_layers) $("filter-layer").append(el("option", {value: name, text: name}));
  setUpReconstructions(options);
}

function collectOptions() {
  const options = {};
  for (const field of state.fields) {
    if (bySlider(field)) continue;
    const value = readField(field);
    if (JSON.stringify(value) !== JSON.stringify(field.default)) options[field.name] = value;
  }
  if (Number($("balance").value) !== 0) options.strength = strength();
  return options;
}

function setUpVideoFields(video) {
  state.video = video;
  for (const field of video.fields) {
    const box = fieldInput(field, "video-opt-", video.suggested);
    $(field.section === "main" ? "video-main-fields" : "video-advanced-fields").append(box);
  }
  const l = video.limits;
  $("video-limits").textContent = `Clips up to ${Math.round(l.max_upload_bytes / 1048576)} MB ` +
    `and ${l.max_seconds} s; at most ${l.max_frames} frames a run.`;
}

function collectVideoOptions() {
  const options = {};
  for (const field of state.video.fields) {
    const value = readField(field, "video-opt-");
    const standard = field.name in state.video.suggested ? undefined : field.default;
    if (JSON.stringify(value) !== JSON.stringify(standard)) options[field.name] = value;
  }
  return options;
}

async function startVideo() {
  await startRun($("video-start"), $("video-message"),
    () => (!state.clip || state.clip.pending ? "Choose a clip first."
                                             : stylesMissing(" (under 1. Images)")),
    views.video, () => ({kind: "video", content: state.clip.ref,
                         styles: state.styles.map((s) => s.ref), options: collectVideoOptions()}));
}

// ---------- runs ----------

// The start buttons of both panels: say what is missing, else submit with the button disabled.
async function startRun(button, message, missing, view, body) {
  message.textContent = missing();
  if (message.textContent) return;
  button.disabled = true;
  try {
    await submit(view, body());
  } catch (error) {
    message.textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

function stylesMissing(where) {
  return !state.styles.length || state.styles.some((s) => s.pending)
    ? `Choose at least one style image first${where}.` : "";
}

async function start() {
  await startRun($("start"), $("start-message"),
    () => (!state.content || state.content.pending ? "Choose a content image first."
                                                   : stylesMissing("")),
    views.transfer, () => ({content: state.content.ref, styles: state.styles.map((s) => s.ref),
                            options: collectOptions()}));
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
  if (run.kind === "video") return describeVideo(run);
  if (run.state === "running") {
    const scale = p.scales > 1 ? `scale ${p.scale}/${p.scales} (${p.width}×${p.height}), ` : "";
    const part = p.parts ? `reconstruction ${p.part}/${p.parts} (${p.layers}), ` : "";
    return `Running: ${scale}${part}step ${p.step}/${p.steps}, ${p.done}/${p.total} overall, ` +
      `loss ${p.loss.toPrecision(4)}, ETA ${clock(p.eta)}`;
  }
  if (run.state === "done") {
    const r = run.result;
    const what = r.reconstructions ? `figure of ${r.reconstructions.length}, ` : "";
    return `Done: ${what}${r.width}×${r.height}, ${r.evaluations} evaluations in ${r.seconds} s, ` +
      `loss ${r.loss === null ? "–" : r.loss.toPrecision(4)}.`;
  }
  if (run.state === "cancelled") return "Cancelled" + (run.result ? ": the best image so far is kept." : ".");
  return `${run.state === "failed" ? "Failed" : "Interrupted"}: ${run.error}`;
}

function describeVideo(run) {
  const p = run.progress;
  const r = run.result;
  if (run.state === "running") {
    return `Running: frame ${p.frame}/${p.frames} (step ${p.step}/${p.steps}), ` +
      `${p.done}/${p.total} frames done, loss ${p.loss === null ? "–" : p.loss.toPrecision(4)}, ` +
      `ETA ${clock(p.eta)}`;
  }
  if (run.state === "done") {
    return `Done: ${r.frames} frames, ${r.width}×${r.height}, in ${r.seconds} s` +
      (r.computed < r.frames ? ` (${r.frames - r.computed} resumed from an earlier run).` : ".");
  }
  const kept = r ? `: the ${r.frames} frames finished so far are kept.` : ".";
  if (run.state === "cancelled") return `Cancelled${kept}`;
  return `${run.state === "failed" ? "Failed" : "Interrupted"}: ${run.error}`;
}

function render(run) {
  const view = viewOf(run);
  if (run.id !== view.runId) return;
  $(view.status).textContent = describeProgress(run);
  $(view.status).dataset.state = run.state;
  const bar = $(view.bar);
  bar.max = run.progress ? run.progress.total : 1;
  bar.value = run.state === "done" ? bar.max : (run.progress ? run.progress.done : 0);
  if (view === views.transfer) {
    $("run-content").src = imageUrl(run.content);
    $("run-style").src = imageUrl(run.styles[0]);
    $("run-caption").textContent = run.state === "done" ? "result" : `${run.state}`;
  }
  const image = $(view.image);
  image.classList.toggle("live", !FINAL.includes(run.state));  // the image forming, enlarged
  if (run.image && image.dataset.version !== String(run.image_version)) {
    image.src = `${run.image}?v=${run.image_version}`;
    image.dataset.version = String(run.image_version);
  } else if (!run.image) {
    image.removeAttribute("src");
    image.dataset.version = "0";
  }
  const download = $(view.download);
  if (run.download) {
    download.href = run.download;
    download.setAttribute("download", `painterly-${run.id}.${run.download.split(".").pop()}`);
    download.classList.remove("hidden");
  } else {
    download.classList.add("hidden");
  }
  if (view === views.video) {
    const player = $("video-result");
    const url = run.download ? `${run.download}?v=${run.finished}` : "";
    if (url && player.dataset.url !== url) {
      player.src = url;
      player.dataset.url = url;
    } else if (!url) {
      player.removeAttribute("src");
      player.dataset.url = "";
    }
    $("video-result-figure").classList.toggle("hidden", !url);
  }
  $(view.cancel).disabled = FINAL.includes(run.state);
  markSelected();
}

function markSelected() {
  const shown = Object.values(views).map((view) => view.runId);
  for (const node of document.querySelectorAll(".card")) {
    node.classList.toggle("selected", shown.includes(node.dataset.run));
  }
}

function select(view, runId) {
  if (view.events) { view.events.close(); view.events = null; }
  view.runId = runId;
  history.replaceState(null, "", `#run=${runId}`);
}

function attach(run) {
  const view = viewOf(run);
  select(view, run.id);
  const events = new EventSource(`/api/runs/${run.id}/events`);
  view.events = events;
  events.addEventListener("state", (event) => {
    const current = JSON.parse(event.data);
    render(current);
    updateCard(current);
    if (FINAL.includes(current.state)) {
      events.close();
      if (view.events === events) view.events = null;
      loadGallery();
    }
  });
  events.onerror = () => {
    // the server went away: EventSource retries by itself; show the last known state
    const status = $(view.status);
    if (!status.textContent.endsWith("retrying…)")) status.textContent += " (connection lost, retrying…)";
  };
}

async function cancel(view) {
  if (!view.runId) return;
  try {
    render(await api(`/api/runs/${view.runId}/cancel`, {method: "POST"}));
  } catch (error) {
    $(view.message).textContent = error.message;
  }
}

async function submit(view, body) {
  const run = await api("/api/runs", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  attach(run);
  loadGallery();
}

function settingsText(run) {
  const parts = Object.entries(run.options).map(([key, value]) =>
    `${key.replace(/_/g, " ")} ${Array.isArray(value) ? value.join(",") : value}`);
  return parts.length ? parts.join(" · ") : "defaults";
}

const KIND_TITLES = {"reconstruct-content": "content reconstruction of",
                     "reconstruct-style": "style reconstruction of"};

function card(run) {
  const names = run.names || {};
  const name = (ref) => names[ref] || ref;
  const title = run.kind in KIND_TITLES ? `${KIND_TITLES[run.kind]} ${name(run.content)}` :
    `${run.kind === "video" ? "video: " : ""}${name(run.content)} × ${run.styles.map(name).join(" + ")}`;
  const node = el("div", {class: "card", "data-run": run.id, "data-kind": run.kind || "transfer",
                          tabindex: "0"});
  const use = el("button", {type: "button", class: "use", text: "Use these settings",
                            title: "put this run's images and settings into the form"});
  use.addEventListener("click", (event) => { event.stopPropagation(); useSettings(run); });
  node.append(el("img", {alt: title, src: run.image ? `${run.image}?v=${run.image_version}` : imageUrl(run.content)}),
    el("div", {text: title}), el("div", {class: "state", text: run.state}),
    el("div", {class: "settings", text: settingsText(run)}), use);
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
    select(viewOf(run), run.id);
    render(run);
  } else {
    attach(run);
  }
}

async function loadGallery() {
  const runs = await api("/api/runs");
  $("gallery").replaceChildren(...runs.map(card));
  markSelected();
  return runs;
}

// ---------- a gallery run's settings back into the form ----------

function imageItem(run, ref) {
  const names = run.names || {};
  return {ref, name: (names[ref] || ref).replace(/_/g, " "), preview: imageUrl(ref)};
}

function setField(field, value, prefix = "opt-") {
  const input = $(`${prefix}${field.name}`);
  if (!input) return;
  if (field.kind === "bool") input.checked = Boolean(value);
  else if (value === null || value === undefined) input.value = "";
  else input.value = Array.isArray(value) ? value.join(",") : value;
}

function useSettings(run) {
  if (run.kind in KIND_TITLES) {
    const style = run.kind === "reconstruct-style";
    if (style) state.styles = [imageItem(run, run.content)]; else state.content = imageItem(run, run.content);
    $("recon-kind").value = run.kind;
    showReconstructionKind(false);
    const options = run.options;
    $("recon-layers").value = options.layers.join(",");
    $("recon-cumulative").checked = Boolean(options.cumulative);
    for (const name of ["size", "steps"]) {
      const field = state.reconstruction.fields.find((f) => f.name === name);
      $(`recon-${name}`).value = name in options ? options[name] : field.default;
    }
    showThumbs();
    $("reconstructions").scrollIntoView();
    return;
  }
  if (run.kind === "video") {
    state.clip = imageItem(run, run.content);
    api("/api/uploads").then((uploads) => {  // the clip's frames, size and length
      const upload = uploads.find((item) => item.id === run.content);
      if (upload && state.clip && state.clip.ref === upload.id) {
        state.clip = clipItem(upload);
        showThumbs();
      }
    }).catch(() => {});
    state.styles = run.styles.map((ref) => imageItem(run, ref));
    for (const field of state.video.fields) {
      const standard = field.name in state.video.suggested ? state.video.suggested[field.name] :
        field.default;
      setField(field, field.name in run.options ? run.options[field.name] : standard, "video-opt-");
    }
    showThumbs();
    $("video").scrollIntoView();
    return;
  }
  state.content = imageItem(run, run.content);
  state.styles = run.styles.map((ref) => imageItem(run, ref));
  for (const field of state.fields) {
    if (bySlider(field)) continue;
    setField(field, field.name in run.options ? run.options[field.name] : field.default);
  }
  const given = run.options.strength;
  const balance = given ? Math.log10(given) : 0;
  const [low, high] = [Number($("balance").min), Number($("balance").max)];
  $("balance").value = String(Math.max(low, Math.min(high, Math.round(balance * 10) / 10)));
  showBalance();
  showThumbs();
  $("settings").scrollIntoView();
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

function showReconstructionKind(fillLayers = true) {
  const style = $("recon-kind").value === "reconstruct-style";
  const r = state.reconstruction;
  const standard = style ? r.style_layers : r.content_layers;
  if (fillLayers) $("recon-layers").value = standard.join(",");
  $("recon-layers-hint").textContent = style ?
    `comma-separated; cumulative: one texture from the first, one from the first two, …` :
    `comma-separated: one reconstruction each, side by side (the lecture: ${r.content_layers.join(",")})`;
  $("recon-cumulative-field").classList.toggle("hidden", !style);
}

function setUpReconstructions(options) {
  const r = options.reconstruction;
  state.reconstruction = r;
  for (const name of ["size", "steps"]) {
    const field = r.fields.find((f) => f.name === name);
    $(`recon-${name}`).value = name in r.suggested ? r.suggested[name] : field.default;
  }
  $("recon-kind").addEventListener("change", () => showReconstructionKind());
  showReconstructionKind();
}

async function startReconstruction() {
  const view = views.reconstruct;
  const message = $(view.message);
  message.textContent = "";
  const kind = $("recon-kind").value;
  const style = kind === "reconstruct-style";
  const image = style ? state.styles[0] : state.content;
  if (!image || image.pending) {
    message.textContent = style ? "Choose a style image first." : "Choose a content image first.";
    return;
  }
  const options = {
    layers: $("recon-layers").value.split(",").map((part) => part.trim()).filter(Boolean),
    size: Number($("recon-size").value), steps: Number($("recon-steps").value),
  };
  if (style) options.cumulative = $("recon-cumulative").checked;
  $("recon-start").disabled = true;
  try {
    await submit(view, {kind, content: image.ref, options});
  } catch (error) {
    message.textContent = error.message;
  } finally {
    $("recon-start").disabled = false;
  }
}

function setUpLab() {
  $("recon-start").addEventListener("click", startReconstruction);
  $("recon-cancel").addEventListener("click", () => cancel(views.reconstruct));
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
  setUpClipDrop();
  setUpLab();
  $("video-start").addEventListener("click", startVideo);
  $("video-cancel").addEventListener("click", () => cancel(views.video));
  $("start").addEventListener("click", start);
  $("cancel").addEventListener("click", () => cancel(views.transfer));
  await Promise.all([loadOptions(), loadExamples()]);
  const runs = await loadGallery();
  // re-attach: the run named in the address, and the newest unfinished run of each view
  const match = location.hash.match(/run=([0-9a-f]{16})/);
  const named = match ? runs.find((run) => run.id === match[1]) : null;
  for (const view of Object.values(views)) {
    const mine = runs.filter((run) => viewOf(run) === view);
    const chosen = named && viewOf(named) === view ? named :
      mine.find((run) => !FINAL.includes(run.state));
    if (chosen) await attachOrShow(chosen.id);
  }
  document.body.dataset.ready = "true";
}

main().catch((error) => { $("start-message").textContent = `The page could not load: ${error.message}`; });
