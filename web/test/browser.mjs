// The page in headless Chromium (the system browser through puppeteer-core): converts a
// PNG to .nlc and an .nlc to PNG by "dropping" files on the file input, and checks the
// canvas pixels and the downloads exactly against the native `nlc`; then <nlc-img>.
// Usage: node web/test/browser.mjs [--screenshot docs/web-page.png] [--bench]
// Env: CHROMIUM (default /usr/bin/chromium), NLC (default $CARGO_TARGET_DIR/release/nlc).
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, extname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const web = join(root, "web");
const nlc = process.env.NLC ?? join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "release", "nlc");
const args = process.argv.slice(2);
const shotAt = args.includes("--screenshot") ? args[args.indexOf("--screenshot") + 1] : null;
const tmp = mkdtempSync(join(tmpdir(), "nlc-browser-"));
const run = (...a) => execFileSync(nlc, a, { stdio: ["ignore", "pipe", "pipe"] });

// Native reference files.
const photo = join(root, "fixtures", "photos", "boats_128x128.png");
run("encode", photo, join(tmp, "boats.nlc"));
const demo = join(root, "fixtures", "photos", "demo.png");
run("encode", demo, join(tmp, "demo.nlc"));
run("decode", join(tmp, "demo.nlc"), join(tmp, "demo.png"));
run("decode", join(tmp, "demo.nlc"), join(tmp, "demo.pam"));
run("decode", join(tmp, "boats.nlc"), join(tmp, "boats.pam"));

function rgbaOfPam(path) {
  const b = readFileSync(path);
  const end = b.indexOf("ENDHDR\n");
  const h = Object.fromEntries(b.subarray(0, end).toString("latin1").split("\n").slice(1).filter(Boolean).map((l) => l.split(" ")));
  const px = b.subarray(end + 7);
  const d = +h.DEPTH;
  const out = new Uint8Array(h.WIDTH * h.HEIGHT * 4);
  for (let i = 0; i < h.WIDTH * h.HEIGHT; i++) {
    const s = px.subarray(i * d, i * d + d);
    const rgb = d >= 3 ? [s[0], s[1], s[2]] : [s[0], s[0], s[0]];
    out.set([...rgb, d === 2 || d === 4 ? s[d - 1] : 255], i * 4);
  }
  return { width: +h.WIDTH, height: +h.HEIGHT, rgba: out };
}

const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".png": "image/png" };
const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  // /tmp/* serves the native reference files; the rest is web/.
  const [base, rel] = url.pathname.startsWith("/tmp/") ? [tmp, url.pathname.slice(5)] : [web, url.pathname.slice(1) || "index.html"];
  const path = normalize(join(base, decodeURIComponent(rel)));
  if (!path.startsWith(base) || !existsSync(path)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" });
  res.end(readFileSync(path));
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  // Root in CI containers has no user namespaces for the sandbox.
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 760 });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(`${origin}/index.html`);
  await page.waitForFunction(() => /kernels|failed/.test(document.getElementById("engine").textContent));
  const engine = await page.$eval("#engine", (e) => e.textContent);
  assert.equal(engine, "Simd128 kernels");

  // Pixels of the newest card's canvas and the bytes of its download link.
  async function convert(file) {
    const input = await page.$("#files");
    await input.uploadFile(file);
    await page.waitForFunction(() => {
      const c = document.querySelector("#results .card");
      return c && c.dataset.state !== "working";
    }, { timeout: 120000 });
    return page.evaluate(async () => {
      const card = document.querySelector("#results .card");
      const c = card.querySelector("canvas");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const a = card.querySelector("a.download");
      const bytes = a ? new Uint8Array(await (await fetch(a.href)).arrayBuffer()) : null;
      return {
        state: card.dataset.state,
        error: card.querySelector(".error")?.textContent,
        width: c.width,
        height: c.height,
        rgba: Array.from(d),
        download: bytes && Array.from(bytes),
        name: a?.download,
        text: card.querySelector("table").innerText,
      };
    });
  }

  // PNG -> .nlc: the canvas shows the exact pixels, the download is `nlc encode`'s file.
  const a = await convert(photo);
  assert.equal(a.state, "done", a.error);
  const boats = rgbaOfPam(join(tmp, "boats.pam"));
  assert.equal(a.width, boats.width);
  assert.ok(Buffer.from(a.rgba).equals(Buffer.from(boats.rgba)), "PNG -> .nlc: canvas pixels differ");
  assert.equal(a.name, "boats_128x128.nlc");
  assert.ok(Buffer.from(a.download).equals(readFileSync(join(tmp, "boats.nlc"))), "the .nlc differs from nlc encode's");
  assert.match(a.text, /bpsp/);

  // .nlc -> PNG: canvas pixels and the PNG file equal the native decoder's.
  const b = await convert(join(tmp, "demo.nlc"));
  assert.equal(b.state, "done", b.error);
  const d = rgbaOfPam(join(tmp, "demo.pam"));
  assert.ok(Buffer.from(b.rgba).equals(Buffer.from(d.rgba)), ".nlc -> PNG: canvas pixels differ");
  assert.ok(Buffer.from(b.download).equals(readFileSync(join(tmp, "demo.png"))), "the PNG differs from nlc decode's");
  console.log(`page: PNG -> .nlc and .nlc -> PNG exact\n${b.text}`);

  // Choosing the same file again converts it again: a browser fires "change" only when the
  // input's value changes, so the page clears it after every choice.
  assert.equal(await page.$eval("#files", (i) => i.value), "", "the file input keeps its last choice");
  const cards = () => page.$$eval("#results .card", (c) => c.length);
  const before = await cards();
  const again = await convert(photo);
  assert.equal(again.state, "done", again.error);
  assert.equal(await cards(), before + 1, "choosing the same file twice did nothing");

  // A file that is neither: an error on its card, the page still works.
  const bad = join(tmp, "bad.nlc");
  execFileSync("sh", ["-c", `printf 'not an image' > ${bad}`]);
  const c = await convert(bad);
  assert.equal(c.state, "error");
  assert.ok(c.error.length > 5);

  if (shotAt) {
    // The decoded photo (.nlc -> PNG) on top, the PNG -> .nlc conversion below it.
    await page.evaluate(() => document.querySelector("#results .card[data-state=error]").remove());
    await page.screenshot({ path: shotAt });
    console.log(`screenshot: ${shotAt}`);
  }

  // <nlc-img>: an element on another page decodes to the same pixels.
  const embed = await browser.newPage();
  await embed.goto(`${origin}/index.html`);
  const px = await embed.evaluate(async () => {
    await import("/nlc-img.js");
    const el = document.createElement("nlc-img");
    const loaded = new Promise((ok, fail) => {
      el.addEventListener("load", ok);
      el.addEventListener("error", () => fail(new Error(String(el.error))));
    });
    el.setAttribute("src", "/tmp/boats.nlc");
    document.body.append(el);
    await loaded;
    const c = el.shadowRoot.querySelector("canvas");
    return { w: el.naturalWidth, rgba: Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data) };
  });
  assert.equal(px.w, 128);
  assert.ok(Buffer.from(px.rgba).equals(Buffer.from(boats.rgba)), "<nlc-img> pixels differ");

  // A missing file: the error event, and the alt text shown instead of a blank box.
  const broken = await embed.evaluate(async () => {
    const el = document.createElement("nlc-img");
    el.setAttribute("alt", "a kite over the dunes");
    const failed = new Promise((ok) => el.addEventListener("error", ok));
    el.setAttribute("src", "/tmp/missing.nlc");
    document.body.append(el);
    await failed;
    const alt = el.shadowRoot.querySelector("[part=alt]");
    return { text: alt.textContent, shown: !alt.hidden && alt.getClientRects().length > 0 };
  });
  assert.deepEqual(broken, { text: "a kite over the dunes", shown: true }, "<nlc-img> with a missing file");
  console.log("page: the same file twice converts twice; a missing <nlc-img> shows its alt text");

  if (args.includes("--bench")) {
    const navigator_cores = (await import("node:os")).availableParallelism();
    // Decode speed in the browser (worker, SIMD128 and scalar builds) vs native on the
    // same machine in the same run; best of 5 each.
    const bench = await browser.newPage();
    await bench.goto(`${origin}/index.html`);
    const mp = await bench.evaluate(async () => {
      const { NlcWorker } = await import("/client.js");
      const bytes = new Uint8Array(await (await fetch("/tmp/demo.nlc")).arrayBuffer());
      const out = {};
      for (const scalar of [false, true]) {
        const w = new NlcWorker({ scalar });
        let best = Infinity, px = 0;
        for (let i = 0; i < 5; i++) {
          const r = await w.call("decode", { bytes: bytes.slice() });
          best = Math.min(best, r.ms);
          px = r.image.width * r.image.height;
        }
        out[scalar ? "scalar" : "simd128"] = px / 1e6 / (best / 1000);
      }
      return out;
    });
    console.log(`browser decode MP/s (demo.png 256x192, 1 worker): SIMD128 ${mp.simd128.toFixed(3)}, scalar ${mp.scalar.toFixed(3)}`);
    // Four images at once on a pool of 1 and of 4 workers: wall-clock MP/s.
    const pool = await bench.evaluate(async () => {
      const { NlcPool } = await import("/client.js");
      const bytes = new Uint8Array(await (await fetch("/tmp/demo.nlc")).arrayBuffer());
      const out = {};
      for (const n of [1, 4]) {
        const p = new NlcPool(n);
        await Promise.all(p.workers.map((s) => s.w.call("hello")));
        let best = Infinity;
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          await Promise.all([0, 1, 2, 3].map(() => p.call("decode", { bytes: bytes.slice() })));
          best = Math.min(best, performance.now() - t0);
        }
        out[n] = (4 * 256 * 192) / 1e6 / (best / 1000);
        p.workers.forEach((s) => s.w.worker.terminate());
      }
      return out;
    });
    console.log(`browser, 4 images at once: pool of 1 ${pool[1].toFixed(3)} MP/s, pool of 4 ${pool[4].toFixed(3)} MP/s (${navigator_cores} cores)`);
    // Native in-process decode time of the same image (`nlc bench`, best of 5).
    for (const t of ["1", "0"]) {
      const json = join(tmp, `bench${t}.json`);
      run("bench", "--quiet", "--threads", t, "--runs", "5", "--json", json, demo);
      const mps = JSON.parse(readFileSync(json, "utf8")).configs[0].images[0].decode_mps;
      console.log(`native decode MP/s (nlc bench, threads=${t === "0" ? "all" : t}): ${mps.toFixed(3)}`);
    }
  }
  assert.deepEqual(errors, [], "page errors");
  console.log("browser test passed");
} finally {
  await browser.close();
  server.close();
  rmSync(tmp, { recursive: true, force: true });
}
