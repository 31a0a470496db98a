// Browser features newer than TypeScript's DOM library (all in Chromium >= 114).
interface JSONReviverContext {
  source: string;
}
interface RawJSON {
  readonly rawJSON: string;
}
interface JSON {
  parse(text: string, reviver: (this: any, key: string, value: any, context: JSONReviverContext) => any): any;
  rawJSON(text: string): RawJSON;
}
