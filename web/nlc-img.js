// <nlc-img src="photo.nlc" alt="..."> : fetches an .nlc file, decodes it in a Web Worker
// and shows it on a canvas (intrinsic size unless width/height attributes or CSS say
// otherwise). A file with an embedded preview (docs/FORMAT.md section 10) shows it at once,
// scaled to the image's size, while the image itself decodes. Fires "load" (the image is
// shown) or "error" like <img>; when the image cannot be shown (missing file, not an .nlc
// stream) the alt text is shown in its place, as <img> does. Usage:
//   <script type="module" src="nlc-img.js"></script>
import { sharedWorker } from "./client.js";

class NlcImg extends HTMLElement {
  static observedAttributes = ["src", "alt", "width", "height"];

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML =
      "<style>:host{display:inline-block}canvas{display:block;width:100%;height:100%}" +
      "[hidden]{display:none}</style>" +
      '<canvas part="canvas" role="img"></canvas><span part="alt" hidden></span>';
    this.canvas = root.querySelector("canvas");
    this.altText = root.querySelector("span");
    this.token = 0;
  }

  attributeChangedCallback(name) {
    if (name === "alt") {
      this.canvas.setAttribute("aria-label", this.getAttribute("alt") ?? "");
      this.altText.textContent = this.getAttribute("alt") ?? "";
    }
    else if (name === "src") this.load();
    else this.size();
  }

  size() {
    for (const d of ["width", "height"]) {
      const v = this.getAttribute(d);
      this.style[d] = v === null ? "" : `${parseInt(v, 10)}px`;
    }
  }

  async load() {
    const src = this.getAttribute("src");
    const token = ++this.token;
    if (!src) return;
    try {
      const res = await fetch(new URL(src, document.baseURI));
      if (!res.ok) throw new Error(`${src}: HTTP ${res.status}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const pool = sharedWorker();
      // The preview and the image in parallel (the pool has several workers); the preview
      // is drawn only if the image is not shown yet.
      const copy = bytes.slice();
      let done = false;
      pool
        .call("decodePreview", { bytes: copy }, null, [copy.buffer])
        .then(async (p) => {
          if (!p.embedded || done || token !== this.token) return;
          const bitmap = await createImageBitmap(rgbaData(p.image));
          if (done || token !== this.token) return;
          this.show(p.width, p.height, (ctx) => {
            ctx.imageSmoothingQuality = "high";
            ctx.drawImage(bitmap, 0, 0, p.width, p.height);
          });
        })
        .catch(() => {}); // a damaged preview: the image's own decode reports the error
      const { image } = await pool.call("decode", { bytes }, null, [bytes.buffer]);
      if (token !== this.token) return; // src changed meanwhile
      done = true;
      this.show(image.width, image.height, (ctx) => ctx.putImageData(rgbaData(image), 0, 0));
      this.dispatchEvent(new Event("load"));
    } catch (err) {
      if (token !== this.token) return;
      this.error = err;
      // Like a broken <img>: the alt text instead of an empty box.
      this.canvas.hidden = true;
      this.altText.hidden = false;
      console.error("nlc-img:", err);
      this.dispatchEvent(new Event("error"));
    }
  }

  /// Sizes the canvas to the image (`width` x `height`) and paints it with `draw(ctx)`.
  show(width, height, draw) {
    this.canvas.width = width;
    this.canvas.height = height;
    draw(this.canvas.getContext("2d"));
    this.canvas.hidden = false;
    this.altText.hidden = true;
    this.naturalWidth = width;
    this.naturalHeight = height;
    this.size();
  }
}

/// A decoded image's RGBA samples as canvas ImageData.
function rgbaData(image) {
  return new ImageData(new Uint8ClampedArray(image.rgba.buffer), image.width, image.height);
}

customElements.define("nlc-img", NlcImg);
