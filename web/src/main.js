import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { useToasts } from './stores/toasts.js';
import './styles/base.css';
import './styles/themes.css';
import './styles/status.css';
import './styles/timeline.css';
import './styles/controls.css';
import './styles/phone.css';

const app = createApp(App);
app.use(createPinia());
app.config.errorHandler = (err, _vm, info) => {
  // Never lose the page to a bug: say it, keep going.
  console.error('studio error', info, err);
  useToasts().error(`Something went wrong in the studio: ${err && err.message ? err.message : err}`, { key: 'bug' });
};
app.mount('#app');
