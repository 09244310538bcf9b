// How browser tests launch Chromium on these machines: the system browser
// (apt's /usr/bin/chromium, or $CHROMIUM), headless, with no network
// services (../shared/reference/toolchain.md).

/** playwright-core launch options. */
export const CHROMIUM = {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};
