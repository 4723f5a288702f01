// The converter page: PNG/JPEG -> .nlc and .nlc -> PNG, in a Web Worker (client.js).
import { NlcPool } from "./client.js";

// ?scalar=1 loads the build without SIMD128 (for comparisons).
const worker = new NlcPool(undefined, { scalar: new URLSearchParams(location.search).get("scalar") === "1" });
const results = document.getElementById("results");
const engine = document.getElementById("engine");

worker.call("hello").then(
  (h) => (engine.textContent = `${h.simd} kernels`),
  (e) => (engine.textContent = `failed to load: ${e.message}`),
);

const kib = (n) => (n < 10240 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);
const bpsp = (bytes, info) => ((bytes * 8) / (info.width * info.height * info.channels)).toFixed(3);

function card(name) {
  const el = document.createElement("section");
  el.className = "card";
  el.innerHTML = `<canvas></canvas><div class="meta"><h2></h2><progress max="1" value="0"></progress>
    <table></table><div class="links"></div></div>`;
  el.querySelector("h2").textContent = name;
  results.prepend(el);
  return el;
}

function show(el, image) {
  const c = el.querySelector("canvas");
  c.width = image.width;
  c.height = image.height;
  const data = new ImageData(new Uint8ClampedArray(image.rgba.buffer), image.width, image.height);
  c.getContext("2d").putImageData(data, 0, 0);
}

function table(el, rows) {
  const t = el.querySelector("table");
  for (const [k, v] of rows) {
    const tr = t.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
}

function link(el, bytes, name, type) {
  const a = document.createElement("a");
  a.className = "download";
  a.href = URL.createObjectURL(new Blob([bytes], { type }));
  a.download = name;
  a.textContent = `Download ${name}`;
  el.querySelector(".links").append(a);
}

const stem = (name) => name.replace(/\.[^.]*$/, "");

async function convert(file) {
  const el = card(file.name);
  el.dataset.state = "working";
  const bar = el.querySelector("progress");
  const onProgress = (done, total) => (bar.value = total ? done / total : 0);
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    // The container's magic: 0x8B "NLC" \r\n 0x1A \n.
    const isNlc = bytes.length >= 4 && bytes[0] === 0x8b && bytes[1] === 0x4e && bytes[2] === 0x4c;
    if (isNlc || /\.nlc$/i.test(file.name)) {
      const r = await worker.call("decode", { bytes, png: true }, onProgress);
      show(el, r.image);
      const mp = (r.image.width * r.image.height) / 1e6;
      table(el, [
        ["size", `${r.image.width} × ${r.image.height} ${r.image.layout}`],
        [".nlc", `${kib(r.info.fileSize)} · ${bpsp(r.info.fileSize, r.info)} bpsp`],
        ["PNG", `${kib(r.png.length)} · ${bpsp(r.png.length, r.info)} bpsp`],
        [".nlc / PNG", `${((100 * r.info.fileSize) / r.png.length).toFixed(1)} %`],
        ["decode", `${r.ms.toFixed(0)} ms · ${(mp / (r.ms / 1000)).toFixed(2)} MP/s`],
      ]);
      link(el, r.png, `${stem(file.name)}.png`, "image/png");
    } else {
      const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50;
      const r = await worker.call("encodeFile", { bytes, isPng, options: {} }, onProgress);
      show(el, r.image);
      const mp = (r.image.width * r.image.height) / 1e6;
      table(el, [
        ["size", `${r.image.width} × ${r.image.height} ${r.image.layout}`],
        [isPng ? "PNG (input)" : "PNG (same pixels)", `${kib(r.pngSize)} · ${bpsp(r.pngSize, r.info)} bpsp`],
        [".nlc", `${kib(r.info.fileSize)} · ${bpsp(r.info.fileSize, r.info)} bpsp`],
        [".nlc / PNG", `${((100 * r.info.fileSize) / r.pngSize).toFixed(1)} %`],
        ["encode", `${r.ms.toFixed(0)} ms · ${(mp / (r.ms / 1000)).toFixed(2)} MP/s`],
      ]);
      link(el, r.nlc, `${stem(file.name)}.nlc`, "application/octet-stream");
    }
    bar.value = 1;
    el.dataset.state = "done";
  } catch (err) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = err.message;
    el.querySelector(".meta").append(p);
    bar.remove();
    el.dataset.state = "error";
  }
}

function convertAll(files) {
  // Files in parallel on the pool's workers (one image per worker).
  return Promise.all(files.map(convert));
}

const drop = document.getElementById("drop");
const input = document.getElementById("files");
input.addEventListener("change", () => {
  const files = [...input.files];
  // Cleared so that choosing the same file again is a change too (and converts again).
  input.value = "";
  convertAll(files);
});
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  convertAll([...e.dataTransfer.files]);
});
