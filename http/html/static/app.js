// Doorman's pages work without this script. With it: confirmations open as a
// dialog over the page, times show in the reader's own time zone, the
// session id can be copied with one click, the Session settings form
// shows only what applies, and a form is not sent twice by a double click.
(function () {
  "use strict";

  var exact = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
  var short = new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeStyle: "short" });
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }

  // localTimes rewrites <time datetime> in the reader's time zone: the
  // hover text always, the visible text where the page shows exact times.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime())) { return; }
      var full = exact.format(d) + (zone ? " (" + zone + ")" : "");
      if (t.hasAttribute("data-local")) {
        t.textContent = short.format(d);
      }
      t.title = full;
    });
  }

  function copyButtons(root) {
    if (!navigator.clipboard || !window.isSecureContext) { return; }
    root.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        var status = b.parentNode.querySelector(".copy-status");
        navigator.clipboard.writeText(b.getAttribute("data-copy")).then(function () {
          if (status) { status.textContent = "Copied"; }
        }, function () {
          if (status) { status.textContent = "Could not copy"; }
        });
      });
    });
  }

  // Links with data-confirm lead to a confirmation page. When the page holds
  // the same form in <template id="…">, it opens in a modal dialog instead;
  // the form still posts as on the confirmation page.
  function confirmDialogs(root) {
    if (typeof HTMLDialogElement !== "function") { return; }
    root.querySelectorAll("a[data-confirm]").forEach(function (link) {
      var tpl = document.getElementById(link.getAttribute("data-confirm"));
      if (!tpl || !tpl.content) { return; }
      link.addEventListener("click", function (ev) {
        if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) { return; }
        ev.preventDefault();
        var dialog = document.createElement("dialog");
        dialog.className = "confirm-dialog";
        dialog.appendChild(tpl.content.cloneNode(true));
        var title = dialog.querySelector(".confirm-title");
        if (title) {
          title.id = "dialog-title";
          dialog.setAttribute("aria-labelledby", title.id);
        }
        dialog.querySelectorAll("[data-cancel]").forEach(function (c) {
          c.addEventListener("click", function (e) {
            e.preventDefault();
            dialog.close();
          });
        });
        dialog.addEventListener("close", function () {
          dialog.remove();
          link.focus();
        });
        localTimes(dialog);
        document.body.appendChild(dialog);
        dialog.showModal();
        var cancel = dialog.querySelector("[data-cancel]");
        if (cancel) { cancel.focus(); }
      });
    });
  }

  // The Session settings form shows what applies: "Remembered sessions
  // last" when Remember Me is allowed, "All sessions expire after" when it
  // is not, with the timeout chosen. Without the script both are shown,
  // each under its "When enabled:" or "When disabled:".
  function settingsForm(root) {
    root.querySelectorAll("form[data-settings]").forEach(function (form) {
      var remember = form.querySelector("input[data-remember]");
      if (!remember) { return; }
      var on = form.querySelector("[data-when=on]");
      var off = form.querySelector("[data-when=off]");
      var days = on ? on.querySelector("input") : null;
      var text = form.querySelector("[data-expires-text]");
      function update() {
        if (on) { on.hidden = !remember.checked; }
        if (off) { off.hidden = remember.checked; }
        // A hidden field is not sent: the account keeps its number of days.
        if (days) { days.disabled = !remember.checked; }
        var idle = form.querySelector("input[name=idle_timeout]:checked");
        if (text && idle && idle.getAttribute("data-expires")) { text.textContent = idle.getAttribute("data-expires"); }
      }
      form.classList.add("js-toggles");
      remember.addEventListener("change", update);
      form.querySelectorAll("input[name=idle_timeout]").forEach(function (r) { r.addEventListener("change", update); });
      update();
    });
  }

  // A form that changes something is sent once: a second click while its
  // answer loads is ignored, and its buttons show as disabled. The server
  // does a form's action once anyway (its one-time token); this only
  // spares the second request. A page brought back by the Back button gets
  // its buttons back.
  function submitOnce() {
    document.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (!(form instanceof HTMLFormElement) || form.method !== "post" || ev.defaultPrevented) { return; }
      if (form.hasAttribute("data-sent")) {
        ev.preventDefault();
        return;
      }
      form.setAttribute("data-sent", "");
      // After this event: a disabled submitter would not be sent.
      setTimeout(function () {
        form.querySelectorAll("button, input[type=submit]").forEach(function (b) {
          if (b.type === "submit") { b.disabled = true; }
        });
      }, 0);
    });
    window.addEventListener("pageshow", function (ev) {
      if (!ev.persisted) { return; }
      document.querySelectorAll("form[data-sent]").forEach(function (form) {
        form.removeAttribute("data-sent");
        form.querySelectorAll("button, input[type=submit]").forEach(function (b) {
          if (b.type === "submit") { b.disabled = false; }
        });
      });
    });
  }

  localTimes(document);
  copyButtons(document);
  confirmDialogs(document);
  settingsForm(document);
  submitOnce();
})();
