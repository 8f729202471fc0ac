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

  // Passkeys: forms with data-passkey ("register" or "login") run a
  // WebAuthn ceremony. The form posts to its action for the options,
  // the browser makes or uses the credential, and its answer goes to
  // data-finish with the ceremony's token; the answer says where to go.
  // Without WebAuthn the forms stay hidden.
  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) { return PublicKeyCredential.parseCreationOptionsFromJSON(o); }
    o.challenge = b64urlToBuf(o.challenge);
    o.user.id = b64urlToBuf(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return o;
  }
  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) { return PublicKeyCredential.parseRequestOptionsFromJSON(o); }
    o.challenge = b64urlToBuf(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return o;
  }
  function credentialJSON(c) {
    if (typeof c.toJSON === "function") { return JSON.stringify(c.toJSON()); }
    var r = c.response, out = { id: c.id, rawId: bufToB64url(c.rawId), type: c.type, response: { clientDataJSON: bufToB64url(r.clientDataJSON) },
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {} };
    if (c.authenticatorAttachment) { out.authenticatorAttachment = c.authenticatorAttachment; }
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) { out.response.userHandle = bufToB64url(r.userHandle); }
    }
    return JSON.stringify(out);
  }
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" }, body: body })
      .then(function (res) {
        return res.json().catch(function () { return { error: "Something went wrong (" + res.status + "). Reload the page and try again." }; });
      });
  }
  function passkeyForms(root) {
    if (!window.PublicKeyCredential || !navigator.credentials || !window.isSecureContext) { return; }
    root.querySelectorAll("form[data-passkey]").forEach(function (form) {
      var mode = form.getAttribute("data-passkey");
      var status = form.querySelector("[data-passkey-status]");
      var button = form.querySelector("button[type=submit]");
      form.hidden = false;
      function say(msg) { if (status) { status.textContent = msg; status.hidden = !msg; } }
      function answer(a) {
        if (a.redirect) { window.location.assign(a.redirect); return true; }
        if (a.error) { say(a.error); }
        return false;
      }
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        say("");
        var fields = new URLSearchParams(new FormData(form));
        var remember = document.getElementById("remember_me");
        if (mode === "login" && remember && remember.checked) { fields.set("remember_me", "1"); }
        button.disabled = true;
        post(form.action, new URLSearchParams(fields)).then(function (a) {
          if (!a.ceremony) { answer(a); return; }
          var opts = a.options.publicKey;
          var p = mode === "register" ?
            navigator.credentials.create({ publicKey: creationOptions(opts) }) :
            navigator.credentials.get({ publicKey: requestOptions(opts) });
          return p.then(function (cred) {
            fields.set("ceremony", a.ceremony);
            fields.set("credential", credentialJSON(cred));
            return post(form.getAttribute("data-finish"), fields).then(answer);
          }, function (err) {
            say(err && err.name === "NotAllowedError" ? "The passkey request was cancelled or timed out." :
              "The browser could not use a passkey" + (err && err.message ? ": " + err.message : "."));
          });
        }).catch(function (err) {
          say(err instanceof TypeError && /fetch/i.test(err.message) ? "Doorman could not be reached. Try again." :
            "The passkey could not be used" + (err && err.message ? ": " + err.message : "."));
        }).then(function () { button.disabled = false; });
      });
    });
  }

  localTimes(document);
  copyButtons(document);
  confirmDialogs(document);
  settingsForm(document);
  submitOnce();
  passkeyForms(document);
})();
