// What vega-interpreter imports from 'vega-util', taken from the vega bundle already on the page (window.vega):
// `mrkg assets` points the copied interpreter's import here.
const vega = window.vega;
export const ascending = vega.ascending;
export const isString = vega.isString;
export const DisallowedObjectProperties = vega.DisallowedObjectProperties;
