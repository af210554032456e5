// Wegwijs desk: a few lines of our own instead of a framework (no build step).
// Polls for what changed, shows it without a reload, marks unread, notifies; keeps drafts so
// that an expired session or a refused form loses nothing; stops double submits.
(function () {
  "use strict";
  var body = document.body;
  var prefix = body.dataset.prefix || "/desk";
  var signedIn = body.dataset.signedIn === "1";
  var handoff = body.dataset.handoff || "";
  var cursor = parseInt(body.dataset.cursor || "0", 10);
  var every = Math.max(0.2, parseFloat(body.dataset.poll || "5")) * 1000;
  var baseTitle = document.title;
  var live = document.getElementById("live");

  function say(text, href, linkText) {  // text only: nothing here is ever parsed as HTML
    live.textContent = text + (href ? " " : "");
    if (href) {
      var link = document.createElement("a");
      link.href = href;
      link.textContent = linkText;
      live.appendChild(link);
    }
    live.hidden = false;
  }

  // -- drafts: typed text survives a reload, an expired session and a refused form ------------
  var params = new URLSearchParams(location.search);
  document.querySelectorAll("textarea[data-draft]").forEach(function (area) {
    var key = "wegwijs-draft-" + area.dataset.draft;
    var sentNow = (params.get("m") === "sent" && key.indexOf("reply-") > 0) ||
                  (params.get("m") === "noted" && key.indexOf("note-") > 0);
    if (sentNow) { sessionStorage.removeItem(key); }
    else if (!area.value && sessionStorage.getItem(key)) { area.value = sessionStorage.getItem(key); }
    area.addEventListener("input", function () { sessionStorage.setItem(key, area.value); });
  });

  // -- one submit per form: a double click sends once ------------------------------------------
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.busy) { event.preventDefault(); return; }
      form.dataset.busy = "1";
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    });
  });
  document.querySelectorAll("textarea[data-submit-key]").forEach(function (area) {
    area.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        area.form.requestSubmit();
      }
    });
  });

  // -- a file too large is said at once, before anything is uploaded -------------------------
  document.querySelectorAll("input[type=file][data-max]").forEach(function (input) {
    var problem = document.getElementById("file-problem");
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var max = parseInt(input.dataset.max, 10);
      if (file && file.size > max) {
        problem.textContent = "Dit bestand is te groot (" + Math.round(file.size / 1048576) +
          " MB); het maximum is " + input.dataset.maxMb + " MB. Kies een kleinere foto of pdf.";
        problem.hidden = false;
        input.value = "";
      } else {
        problem.hidden = true;
      }
    });
  });

  // -- filter the long list of services --------------------------------------------------------
  document.querySelectorAll("input.filter[data-filter]").forEach(function (input) {
    var box = document.getElementById(input.dataset.filter);
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().trim();
      box.querySelectorAll("label").forEach(function (label) {
        label.hidden = words && label.textContent.toLowerCase().indexOf(words) < 0 &&
          !label.querySelector("input").checked;
      });
    });
  });

  if (!signedIn) { return; }

  // -- browser notifications, while the desk is open -------------------------------------------
  var bell = document.getElementById("notify");
  if (bell && "Notification" in window && Notification.permission === "default") {
    bell.hidden = false;
    bell.addEventListener("click", function () {
      Notification.requestPermission().then(function () { bell.hidden = true; });
    });
  }
  function notify(title, id) {
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        var note = new Notification("Wegwijs desk", { body: title, tag: "wegwijs-" + id });
        note.onclick = function () { window.focus(); location.href = prefix + "/h/" + id; };
      } catch (e) { /* some browsers allow notifications only from a service worker */ }
    }
  }

  // -- live updates ----------------------------------------------------------------------------
  var busy = false;
  function refreshLists() {
    var lists = document.getElementById("lists");
    if (!lists) { return Promise.resolve(); }
    return fetch(lists.dataset.refresh, { credentials: "same-origin" }).then(function (r) {
      if (r.ok) { return r.text().then(function (html) { lists.innerHTML = html; }); }
    });
  }
  function appendMessages() {
    var list = document.getElementById("messages");
    var last = parseInt(body.dataset.last || "0", 10);
    return fetch(list.dataset.refresh + "?after=" + last, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { return; }
      return r.text().then(function (html) {
        var holder = document.createElement("ol");
        holder.innerHTML = html;
        var items = holder.querySelectorAll("li.msg");
        items.forEach(function (item) {
          if (!document.getElementById(item.id)) { list.appendChild(item); }
          body.dataset.last = item.dataset.id;
        });
        var none = document.getElementById("no-messages");
        if (none && items.length) { none.remove(); }
      });
    });
  }
  var unreadHere = 0;
  function setTitle(unread) {
    var count = unread + unreadHere;
    document.title = (count ? "(" + count + ") " : "") + baseTitle;
  }
  function poll() {
    if (busy) { return; }
    busy = true;
    fetch(prefix + "/poll?after=" + cursor, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) {
        say("Je sessie is verlopen; wat je aan het typen was, blijft bewaard.",
            prefix + "/login?why=expired&next=" + encodeURIComponent(location.pathname),
            "Meld je opnieuw aan");
        clearInterval(timer);
        return;
      }
      if (!r.ok) { return; }
      return r.json().then(function (data) {
        cursor = data.after;
        var work = [];
        var reload = false;
        var listsChanged = false;
        data.events.forEach(function (event) {
          if (event.notify) {
            if (document.hidden || String(event.handoff) !== handoff) { notify(event.title, event.handoff); }
            if (String(event.handoff) !== handoff) { say(event.title + " ·", prefix + "/h/" + event.handoff, "open"); }
          }
          if (String(event.handoff) === handoff) {
            if (["picked_up", "closed", "transferred", "reopened", "registered"].indexOf(event.kind) >= 0) {
              reload = true;
            } else if (document.hidden && event.kind === "parent") {
              unreadHere += 1;
            }
          }
          listsChanged = true;
        });
        if (reload) {
          location.reload();  // drafts are kept in this tab's session storage
          return;
        }
        if (handoff && data.events.some(function (e) { return String(e.handoff) === handoff; })) {
          work.push(appendMessages());
        }
        if (listsChanged) { work.push(refreshLists()); }
        setTitle(data.unread);
        return Promise.all(work);
      });
    }).catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(function () { busy = false; });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { unreadHere = 0; setTitle(0); }
  });
  var timer = setInterval(poll, every);
})();
