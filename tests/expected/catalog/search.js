// Full-text search of the catalog, added to the page where JavaScript runs (the list and its filters work without).
// It reads the index sitegen made in search/ (sitegen/catalog/search.py describes its files): index.json, then for
// each word of the query its words file and the terms files of the terms it may be, and the docs files of the
// results it shows. A trial is a result if it has every word; the last word may be the start of one, while it is
// being typed. Words are taken as sitegen takes a trial's: NFKD, lower case, accents dropped, letters and digits.
(function () {
  "use strict";
  var box = document.getElementById("search");
  if (!box || !window.fetch || !window.Promise || !window.TextEncoder || !window.URL) return;
  var form = box.querySelector("form"), input = box.querySelector("input");
  var status = box.querySelector(".search-status"), live = box.querySelector("[role=status]");
  var list = box.querySelector(".search-results");
  var more = box.querySelector(".search-more"), item = box.querySelector("template").content.firstElementChild;
  var notice = box.querySelector(".no-script");
  if (location.protocol === "file:") {
    // Browsers do not let a page opened from disk read the index: say so, rather than nothing at all.
    notice.textContent = "Search works when the site is served by a web server (for example: " +
      "python -m http.server -d output), not opened from a file. The list and its filters below work as they are.";
    return;
  }
  notice.remove();
  form.hidden = false;

  var MARKS = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099-\u309a\ufe20-\ufe2f]/g;  // as search.py's _MARKS
  var WORD = /[\p{L}\p{N}]+/gu;
  var MAX_TERM = 40, MAX_WORDS = 10, SHOWN = 5, WAIT_MS = 200;
  var SETTLED_MS = 700;  // the count is announced once the typing has stopped this long (or at once, on Enter)
  // A word being typed stands for the words it starts, once it has 3 characters: the 12 most common of them (each a
  // terms file to load, on a phone's network)
  var EXPANSIONS = 12, PREFIX = 3;
  var folder = new URL(box.getAttribute("data-index"), document.baseURI);  // .../search/
  var root = new URL("../", folder);  // the site's root: result URLs are relative to it
  var head = null, started = null, files = {};

  function words(text) {
    return (text.normalize("NFKD").toLowerCase().replace(MARKS, "").match(WORD) || []).map(function (word) {
      return Array.from(word).slice(0, MAX_TERM).join("");
    });
  }

  function start(again) {  // index.json, fetched whole at every search (it is small; a host's Last-Modified may not
    // tell two builds of the same second apart): a site rebuilt since renumbers its trials, and the files read
    // before are then dropped
    if (!started || again) {
      started = fetch(new URL("index.json", folder), { cache: "no-store" }).then(function (response) {
        if (!response.ok) throw new Error("index.json: " + response.status);
        return response.json();
      }).then(function (loaded) {
        if (loaded.format !== 1) throw new Error("index.json: format " + loaded.format);
        if (!head || head.version !== loaded.version) files = {};
        head = loaded;
        head.wordFiles = new Set(loaded.words);
      });
      started.catch(function () { started = null; });  // try again at the next search
    }
    return started;
  }

  function get(name) {  // a file of the index, once a page view; its version keeps a browser from mixing two builds
    if (!files[name]) {
      files[name] = fetch(new URL(name + "?v=" + head.version, folder)).then(function (response) {
        if (!response.ok) throw new Error(name + ": " + response.status);
        return response.json();
      });
      files[name].catch(function () { delete files[name]; });
    }
    return files[name];
  }

  function hex(text) {
    return Array.from(new TextEncoder().encode(text), function (b) { return (b < 16 ? "0" : "") + b.toString(16); })
      .join("");
  }

  function termFile(term) {  // FNV-1a of its UTF-8, as search.py's term_file
    var h = 0x811c9dc5, bytes = new TextEncoder().encode(term);
    for (var i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
    return "terms/" + (h % head.termFiles) + ".json";
  }

  function candidates(word, open) {  // the terms a word of the query may be: itself; if still being typed, any it starts
    var key = hex(Array.from(word).slice(0, 2).join(""));
    if (!head.wordFiles.has(key)) return Promise.resolve([]);
    return get("words/" + key + ".json").then(function (listed) {
      if (!open || Array.from(word).length < PREFIX) {
        return Object.prototype.hasOwnProperty.call(listed, word) ? [word] : [];
      }
      return Object.keys(listed).filter(function (term) { return term.lastIndexOf(word, 0) === 0; })
        .sort(function (a, b) { return (a === word ? -1 : b === word ? 1 : listed[b] - listed[a]) || (a < b ? -1 : 1); })
        .slice(0, EXPANSIONS);
    });
  }

  function idf(documents) {  // how rare a term is: the rarer, the more a document having it weighs
    return Math.log(1 + (head.documents - documents + 0.5) / (documents + 0.5));
  }

  function matches(word, open) {  // the documents having the word, and how well each matches it
    return candidates(word, open).then(function (terms) {
      return Promise.all(terms.map(function (term) { return get(termFile(term)); })).then(function (held) {
        var scores = new Map(), exact = terms.indexOf(word);
        // a longer word the query's starts weighs half of what the word itself does: 'cancer' finds trials about
        // cancer before those that say 'cancers' (rarer, so weightier) twice
        var most = exact < 0 ? Infinity : idf((held[exact][word] || []).length);
        terms.forEach(function (term, i) {
          var found = held[i][term] || [], doc = -1;
          var weight = term === word ? idf(found.length) : Math.min(idf(found.length), most) / 2;
          found.forEach(function (value) {
            doc += Math.floor(value / 16);
            var count = value % 16, score = weight * count / (count + 1.2);
            if (!(scores.get(doc) >= score)) scores.set(doc, score);
          });
        });
        return scores;
      });
    });
  }

  function typing(query) {  // whether the query's last word may still be being typed
    return /[\p{L}\p{N}]$/u.test(query.normalize("NFKD").replace(MARKS, ""));
  }

  function find(query, again) {  // the documents having every word, best first
    var asked = words(query).slice(0, MAX_WORDS), open = typing(query);
    return start(again).then(function () {
      return Promise.all(asked.map(function (word, i) { return matches(word, open && i === asked.length - 1); }));
    }).then(function (each) {
      each.sort(function (a, b) { return a.size - b.size; });
      var found = [];
      each[0].forEach(function (score, doc) {
        for (var k = 1; k < each.length; k++) {
          var other = each[k].get(doc);
          if (other === undefined) return;
          score += other;
        }
        found.push([doc, score]);
      });
      found.sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
      return found.map(function (pair) { return pair[0]; });
    });
  }

  var results = [], query = "", ticket = 0, timer = null, searched = false, adding = false, settle = null;

  function say(text, now) {  // shown at once; announced once the typing has settled, not at every key
    if (status.textContent !== text) status.textContent = text;
    clearTimeout(settle);
    settle = setTimeout(function () { if (live.textContent !== text) live.textContent = text; }, now ? 0 : SETTLED_MS);
  }

  function remember(text) {  // the search in the address: Back, a bookmark or a link brings it again
    if (!window.history || !history.replaceState) return;
    var address = new URL(location.href);
    if (text) address.searchParams.set("q", text); else address.searchParams.delete("q");
    try {
      if (address.href !== location.href) history.replaceState(history.state, "", address.href);
    } catch (error) {}  // Safari refuses more than 100 in 30 s: the search goes on without it
  }

  function showNext(mine, focus) {  // the next SHOWN results, from the docs files they are in
    var from = list.children.length, next = results.slice(from, from + SHOWN);
    adding = true;
    return Promise.all(next.map(function (doc) {
      return get("docs/" + Math.floor(doc / head.docsPerFile) + ".json");
    })).then(function (parts) {
      if (mine !== ticket) return;
      next.forEach(function (doc, i) {
        var row = parts[i][doc % head.docsPerFile], entry = item.cloneNode(true), link = entry.querySelector("a");
        link.href = new URL(row[0], root).pathname;
        link.textContent = row[1];
        // condition, phase, status: as the list below and the trial's own pages say them (a row holds the status first)
        entry.querySelector(".search-meta").textContent = [row[2], row[4], row[3]].filter(Boolean).join(" · ");
        list.appendChild(entry);
        if (focus && i === 0) link.focus();
      });
      more.hidden = list.children.length >= results.length;
    }).finally(function () { adding = false; });
  }

  function search(text, now) {
    var mine = ++ticket, again = searched, last = words(text).slice(-1)[0] || "";
    searched = true;
    query = text.trim();
    remember(query);
    if (!words(query).length) {
      results = [];
      list.textContent = "";
      more.hidden = true;
      say("", now);
      return;
    }
    find(text, again).then(function (found) {
      if (mine !== ticket) return;
      results = found;
      list.textContent = "";
      return showNext(mine, false).then(function () {
        if (mine !== ticket) return;
        var count = results.length;
        if (count === 0 && !now && typing(text) && Array.from(last).length < PREFIX) {
          say("", false);  // 'ca' on the way to 'cancer': no "no trial" yet
          return;
        }
        say(count === 0 ? "No trial has all of these words: \u201c" + query + "\u201d" :
          count + (count === 1 ? " trial" : " trials") + " found for \u201c" + query + "\u201d", now);
      });
    }).catch(function () {
      if (mine !== ticket) return;
      results = [];
      list.textContent = "";
      more.hidden = true;
      say("Search could not load its index just now. Every trial is listed below, and by condition, status, phase " +
        "and location.", true);
    });
  }

  input.addEventListener("focus", function () { start().catch(function () {}); });  // a head start
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { search(input.value, false); }, WAIT_MS);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(timer);
    search(input.value, true);
  });
  more.addEventListener("click", function () { if (!adding) showNext(ticket, true); });
  var asked = new URLSearchParams(location.search).get("q");
  if (asked) {
    input.value = asked.slice(0, 200);
    search(input.value, true);
  }
})();
