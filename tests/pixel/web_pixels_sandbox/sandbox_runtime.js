// Inside the sandboxed iframe: the Web Pixels API as a custom pixel sees it
// (https://shopify.dev/docs/api/web-pixels-api), built from messages with the top frame.
//   analytics.subscribe(name, callback): callbacks registered by name, each called with the
//     event Shopify publishes (https://shopify.dev/docs/api/web-pixels-api/standard-api/analytics)
//   browser.localStorage / browser.sendBeacon: promises, settled when the top frame has done
//     the work (https://shopify.dev/docs/api/web-pixels-api/standard-api/browser)
//   init: the page as rendered (https://shopify.dev/docs/api/web-pixels-api/standard-api/init)
// The pixel's code is the function window.metricxPixel(analytics, browser, init).
(() => {
  // What the pixel writes to the console, and errors it leaves uncaught, told to the top
  // frame (the test reads them there).
  const report = (level, text) => parent.postMessage({kind: "console", level, text}, "*");
  for (const level of ["warn", "error"]) {
    const write = console[level].bind(console);
    console[level] = (...args) => {
      report(level, args.map(String).join(" "));
      write(...args);
    };
  }
  window.addEventListener("error", (error) => report("uncaught", String(error.message)));
  window.addEventListener("unhandledrejection", (rejection) => report(
    "uncaught", String(rejection.reason)));
  const waiting = new Map();
  let lastCall = 0;
  const callTopFrame = (method, args) => new Promise((resolve, reject) => {
    lastCall += 1;
    waiting.set(lastCall, {resolve: resolve, reject: reject});
    parent.postMessage({kind: "call", id: lastCall, method: method, args: args}, "*");
  });
  const subscribers = new Map();
  const analytics = {
    subscribe: (name, callback) => {
      if (!subscribers.has(name)) subscribers.set(name, []);
      subscribers.get(name).push(callback);
    },
  };
  const start = (init, withSendBeacon) => {
    const browser = {
      localStorage: {
        getItem: (key) => callTopFrame("localStorage.getItem", [key]),
        setItem: (key, value) => callTopFrame("localStorage.setItem", [key, value]),
        removeItem: (key) => callTopFrame("localStorage.removeItem", [key]),
      },
    };
    if (withSendBeacon) {
      browser.sendBeacon = (url, body) => callTopFrame("sendBeacon", [url, body]);
    }
    window.metricxPixel(analytics, browser, init);
    parent.postMessage({kind: "ready"}, "*");
  };
  window.addEventListener("message", (message) => {
    if (message.source !== parent) return;
    const data = message.data;
    if (data.kind === "init") start(data.init, data.sendBeacon);
    if (data.kind === "result") {
      const call = waiting.get(data.id);
      waiting.delete(data.id);
      if (data.error === undefined) call.resolve(data.value);
      else call.reject(new Error(data.error));
    }
    if (data.kind === "event") {
      for (const callback of subscribers.get(data.name) || []) {
        callback(structuredClone(data.event));
      }
    }
  });
  parent.postMessage({kind: "loaded"}, "*");
})();
