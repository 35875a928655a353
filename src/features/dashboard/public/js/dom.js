// Small DOM helpers shared by the panels.

/** @param {string} id */
export const $ = (id) => document.getElementById(id);

/** A form control by id: inputs, selects and textareas (what has a value). */
export const $field = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));

/** A button by id. */
export const $button = (id) => /** @type {HTMLButtonElement} */ (document.getElementById(id));

/** Builds an element; strings become text nodes (never HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = tag === "svg" || SVG_TAGS.has(tag) ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.setAttribute("class", value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "style") el.style.cssText = value; // CSSOM: allowed by the page's CSP, unlike a style attribute
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG_TAGS = new Set(["g", "rect", "line", "text", "title", "path"]);

export function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function safeUrl(value) {
  return typeof value === "string" && /^https?:\/\//i.test(value) ? value : undefined;
}

export function timeAgo(value) {
  if (!value) return "never";
  const seconds = Math.round((Date.now() - new Date(value).getTime()) / 1000);
  if (seconds < 45) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(value).toLocaleDateString();
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** A button that copies `text` and says so. */
export function copyButton(text, label) {
  const button = h("button", { type: "button", class: "button small", "aria-label": `Copy ${label}` }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy";
    }
    setTimeout(() => (button.textContent = "Copy"), 2000);
  });
  return button;
}

/** Shows an error (or clears it) in a role=alert paragraph. */
export function showError(el, error) {
  el.hidden = !error;
  el.textContent = error ? (error.message ?? String(error)) : "";
}

/** Opens a modal dialog built from `children`; resolves with the button value that closed it. */
export function openDialog(title, children, options = {}) {
  const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
  const dialog = h(
    "dialog",
    { class: `dialog${options.wide ? " wide" : ""}`, "aria-labelledby": titleId },
    h("div", { class: "dialog-head" }, h("h2", { id: titleId }, title), h("button", { type: "button", class: "button ghost", onclick: () => dialog.close("close") }, "Close")),
    h("div", { class: "dialog-body" }, children),
  );
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
  return dialog;
}
