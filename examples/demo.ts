/**
 * `npm run demo`: the library end to end on the local AWS emulator (no AWS credentials, no network).
 *
 *   npm run demo
 */
// Before the SDK loads: it warns once per process that Node 20 support ends in 2027.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { runDemo } = await import('encrypted-ecr/testing');
await runDemo();
