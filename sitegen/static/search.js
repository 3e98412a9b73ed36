// Full-text search of the catalog, added to the page where JavaScript runs (the list and its filters work without).
// Pagefind's UI reads the index from the folder named in data-bundle, relative to this page; it is given as an
// absolute path, since the UI imports from it and takes a relative one ('pagefind/') for a bare module name.
(function () {
  var box = document.getElementById("search");
  if (!box || typeof PagefindUI === "undefined") return;
  if (location.protocol === "file:") {
    // Browsers do not let a page opened from disk load the search index: say so, rather than "Searching..." forever.
    box.textContent = "Search works when the site is served by a web server (for example: " +
      "python -m http.server -d output), not opened from a file. The list and its filters below work as they are.";
    return;
  }
  box.textContent = "";
  new PagefindUI({
    element: "#search",
    bundlePath: new URL(box.getAttribute("data-bundle"), document.baseURI).pathname,
    // a large catalog's index is split into bundles (pagefind/, pagefind-1/, ...): search them all as one
    mergeIndex: (box.getAttribute("data-merge") || "").split(" ").filter(Boolean).map(function (folder) {
      return { bundlePath: new URL(folder, document.baseURI).pathname };
    }),
    showImages: false,
    showSubResults: false,
    resetStyles: false,
    translations: { placeholder: "Search trials by condition, drug, place or any word" }
  });
  // Its box is named only by its title, which no one sees: name it by the visible heading above it.
  var input = box.querySelector("input");
  var heading = document.getElementById("search-heading");
  if (input && heading) input.setAttribute("aria-labelledby", heading.id);
  // Pagefind's UI shows how many results there are ("3 results for sarcoma") but does not announce it: repeat that
  // message in a live region once it has stopped changing, so a screen reader says it once, not on every key.
  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  box.parentNode.insertBefore(status, box.nextSibling);
  var timer;
  new MutationObserver(function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var message = box.querySelector(".pagefind-ui__message");
      var input = box.querySelector("input");
      var text = message && input && input.value.trim() ? message.textContent.trim() : "";
      if (status.textContent !== text) status.textContent = text;
    }, 400);
  }).observe(box, { childList: true, subtree: true, characterData: true });
})();
