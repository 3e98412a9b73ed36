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
  // A large catalog's index is split into bundles (pagefind/, pagefind-1/, ...): search them all as one.
  var bundles = [box.getAttribute("data-bundle")].concat((box.getAttribute("data-merge") || "").split(" "))
    .filter(Boolean).map(function (folder) { return new URL(folder, document.baseURI).pathname; });
  // Pagefind asks for each bundle's entry file with "?ts=" and this tag (by default the time of the search, which
  // no one else can know); one per page view keeps it as fresh and lets prefetchBundles fetch the same URL.
  var tag = String(Date.now());
  new PagefindUI({
    element: "#search",
    bundlePath: bundles[0],
    mergeIndex: bundles.slice(1).map(function (path) { return { bundlePath: path, metaCacheTag: tag }; }),
    metaCacheTag: tag,
    showImages: false,
    showSubResults: false,
    resetStyles: false,
    translations: { placeholder: "Search trials by condition, drug, place or any word" }
  });
  // Pagefind merges the bundles one after another, each its entry file and then its metadata: at 16 bundles, 32
  // round trips in a row before the first index chunk. When the reader first turns to the box (not at page load:
  // who never searches pays nothing), ask for them all at once, so that Pagefind's own requests are answered
  // from the browser's cache (the host must let it keep them: static hosts do, e.g. GitHub Pages for 10 minutes).
  var prefetched = false;
  function read(response) { return response.arrayBuffer(); }  // the whole body, so that the cache keeps it
  function prefetchBundles() {
    if (prefetched || typeof fetch === "undefined") return;
    prefetched = true;
    bundles.forEach(function (path) {
      fetch(path + "pagefind-entry.json?ts=" + tag).then(function (response) {
        // A host that has the browser ask again for every file (no-cache, max-age=0: Netlify, Cloudflare Pages)
        // makes Pagefind ask again one after another anyway: fetching the rest first would only add requests.
        var mustAsk = /no-cache|no-store|max-age=0\b/.test(response.headers.get("Cache-Control") || "");
        return response.ok && !mustAsk ? response.json() : null;
      }).then(function (entry) {
        var languages = (entry && entry.languages) || {};
        // The metadata of each language the bundle has (a catalog has one): it is named by the entry's hash.
        Object.keys(languages).forEach(function (language) {
          var hash = languages[language].hash;
          if (hash) fetch(path + "pagefind." + hash + ".pf_meta").then(read).catch(function () {});
          // and Pagefind's WebAssembly, which it fetches from the first bundle only, once that bundle's entry is in
          var wasm = languages[language].wasm;
          if (wasm && path === bundles[0]) fetch(path + "wasm." + wasm + ".pagefind").then(read).catch(function () {});
        });
      }).catch(function () {});  // only a head start: Pagefind fetches them itself and reports its own errors
    });
  }
  box.addEventListener("focusin", prefetchBundles);
  box.addEventListener("input", prefetchBundles);
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
