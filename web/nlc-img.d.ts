// Types of nlc-img.js, which exports nothing: importing it defines the <nlc-img> element.
//   <script type="module" src="nlc-img.js"></script>
//   <nlc-img src="photo.nlc" alt="A photo" width="320"></nlc-img>
// Fires "load" when shown and "error" when not (the alt text is shown instead).

/** The <nlc-img> element. Attributes: src, alt, width, height (CSS pixels). */
export interface NlcImgElement extends HTMLElement {
  /** The image's size in pixels, set before "load" fires. */
  readonly naturalWidth?: number;
  readonly naturalHeight?: number;
  /** Why the image is not shown, after "error". */
  readonly error?: unknown;
}

declare global {
  interface HTMLElementTagNameMap {
    "nlc-img": NlcImgElement;
  }
}
