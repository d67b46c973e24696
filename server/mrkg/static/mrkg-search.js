// mrkg search box: suggestions as you type, from GET /search?format=json (the form works without this script).
// An ARIA combobox: Up/Down move through the suggestions, Enter opens the chosen one (or submits the form),
// Escape closes the list.
(function () {
  "use strict";
  function setUp() {
    var input = document.getElementById("site-search-q");
    var list = document.getElementById("site-search-list");
    if (!input || !list) return;
    var form = input.form;
    var items = [];
    var active = -1;
    var timer = null;
    var latest = 0;

    function close() {
      list.hidden = true;
      list.textContent = "";
      items = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      active = index;
      for (var i = 0; i < items.length; i++) {
        var selected = i === index;
        items[i].element.setAttribute("aria-selected", selected ? "true" : "false");
        items[i].element.classList.toggle("active", selected);
      }
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", items[index].element.id);
        items[index].element.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(results) {
      list.textContent = "";
      items = [];
      active = -1;
      results.forEach(function (hit, i) {
        var li = document.createElement("li");
        li.id = "site-search-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.href = hit.href;
        var name = document.createElement("span");
        name.className = "label";
        name.textContent = hit.label;
        var kind = document.createElement("span");
        kind.className = "kind";
        kind.textContent = hit.kind;
        li.appendChild(name);
        li.appendChild(kind);
        if (hit.text && hit.text !== hit.label) {
          var why = document.createElement("span");
          why.className = "why";
          why.textContent = hit.match + ": " + (hit.text.length > 80 ? hit.text.slice(0, 79) + "…" : hit.text);
          li.appendChild(why);
        }
        li.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep the focus
        li.addEventListener("click", function () { go(i); });
        list.appendChild(li);
        items.push({ element: li, href: hit.href });
      });
      var none = results.length === 0;
      list.hidden = none;
      input.setAttribute("aria-expanded", none ? "false" : "true");
    }

    function go(index) {
      if (index >= 0 && index < items.length) window.location.assign(items[index].href);
    }

    function ask() {
      var text = input.value.trim();
      if (!text) { close(); return; }
      var ticket = ++latest;
      var url = new URL(form.getAttribute("action"), window.location.href);
      url.searchParams.set("q", text.slice(0, 200));
      url.searchParams.set("format", "json");
      url.searchParams.set("limit", "8");
      fetch(url.href, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (doc) { if (ticket === latest && input.value.trim() === text) show(doc.results || []); })
        .catch(function () { /* no suggestions: the form still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 120);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        if (list.hidden) { ask(); return; }
        event.preventDefault();
        highlight(active + 1 >= items.length ? 0 : active + 1);
      } else if (event.key === "ArrowUp") {
        if (list.hidden) return;
        event.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) { event.preventDefault(); go(active); }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
