// A single-page app: every page renders in the browser and reads the coordinator's API.
export const ssr = false;
export const prerender = false;
