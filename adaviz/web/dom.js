/*
 * adaviz's live pages: the DOM helpers page.js and replay.js share (a classic script, loaded
 * after engine.js, which defines window.adaviz).
 *   adaviz.el(tag, attributes, children)  an element ("text" sets its text content)
 *   adaviz.fmt(value, digits)             a number for a readout ("–" for none, ∞ signed)
 */
(function (root) {
  "use strict";
  const adaviz = root.adaviz || (root.adaviz = {});

  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    if (!isFinite(value)) return value > 0 ? "∞" : "−∞";
    return Number(value).toPrecision(digits || 3).replace(/\.?0+(e|$)/, "$1");
  }

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(function ([key, value]) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach(function (child) {
      node.appendChild(child);
    });
    return node;
  }

  adaviz.el = el;
  adaviz.fmt = fmt;
})(typeof window !== "undefined" ? window : globalThis);
