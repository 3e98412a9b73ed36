// Full-text search of the catalog, added to the page where JavaScript runs (the list and its filters work without).
// Pagefind's UI reads the index from the folder named in data-bundle, relative to this page.
(function () {
  var box = document.getElementById("search");
  if (!box || typeof PagefindUI === "undefined") return;
  box.textContent = "";
  new PagefindUI({
    element: "#search",
    bundlePath: box.getAttribute("data-bundle"),
    showImages: false,
    showSubResults: false,
    resetStyles: false,
    translations: { placeholder: "Search trials by condition, drug, place or any word" }
  });
})();
