// Describe without leaving the page: the form, a dropped image or a pasted one, sent with the page's token.
// The description lands in the live region, so a screen reader reads it at once.
(function () {
  "use strict";
  const form = document.getElementById("describe");
  const result = document.getElementById("result");
  const error = document.getElementById("error");
  const looked = document.getElementById("looked");
  const maps = document.getElementById("maps");
  const token = form.querySelector("input[name=csrf]").value;

  async function describe(file) {
    error.textContent = "";
    result.textContent = "Describing…";
    const data = new FormData();
    data.append("image", file, file.name || "pasted image");
    let reply;
    try {
      const response = await fetch("/describe", {method: "POST", body: data,
        headers: {"X-Iris-Token": token, "Accept": "application/json"}});
      reply = await response.json();
    } catch (e) {
      reply = {error: "Iris did not answer. Is it still running?"};
    }
    maps.replaceChildren();
    if (reply.error) {
      result.textContent = "";
      error.textContent = reply.error;
      looked.hidden = true;
      return;
    }
    result.textContent = reply.text;
    for (const m of reply.maps) {
      const item = document.createElement("li");
      const figure = document.createElement("figure");
      figure.tabIndex = 0;
      const img = document.createElement("img");
      img.src = m.png;
      img.alt = m.word + ": " + m.where;
      const caption = document.createElement("figcaption");
      caption.textContent = m.word;
      figure.append(img, caption);
      item.append(figure);
      maps.append(item);
    }
    looked.hidden = reply.maps.length === 0;
  }

  form.addEventListener("submit", function (event) {
    const file = document.getElementById("image").files[0];
    if (!file) return;
    event.preventDefault();
    describe(file);
  });
  document.addEventListener("paste", function (event) {
    const item = [...(event.clipboardData || {items: []}).items].find(i => i.type.startsWith("image/"));
    if (item) { event.preventDefault(); describe(item.getAsFile()); }
  });
  document.addEventListener("dragover", function (event) { event.preventDefault(); document.body.classList.add("dragging"); });
  document.addEventListener("dragleave", function () { document.body.classList.remove("dragging"); });
  document.addEventListener("drop", function (event) {
    event.preventDefault();
    document.body.classList.remove("dragging");
    const file = [...event.dataTransfer.files].find(f => f.type.startsWith("image/"));
    if (file) describe(file); else error.textContent = "That is not an image file.";
  });
})();
