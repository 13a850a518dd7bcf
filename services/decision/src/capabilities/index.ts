/** Capability tokens (AARM R9): issue, verify, redeem once, the HTTP handler and the credential-exchange hook. */
export * from './token.js';
export * from './redemptions.js';
export * from './http.js';
export * from './broker.js';
export * from './grant.js';
