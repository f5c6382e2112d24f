// Applies the remembered theme before the studio's scripts load, so the
// page never flashes the wrong colours.
(function () {
  try {
    var t = localStorage.getItem('kokoro.theme');
    var m = t && /^(light|dark)-(brutalist|skeuomorphic|glassmorphic|retro)$/.exec(t);
    var el = document.documentElement;
    if (m) {
      el.setAttribute('data-theme', m[1]);
      el.setAttribute('data-variant', m[2]);
    } else if (window.matchMedia && matchMedia('(prefers-color-scheme: dark)').matches) {
      el.setAttribute('data-theme', 'dark');
    }
  } catch (e) { /* storage may be disabled: keep the defaults */ }
})();
