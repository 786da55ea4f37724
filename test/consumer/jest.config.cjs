// Jest runs the CommonJS that tsc emitted from jest/*.spec.ts (tsconfig.jest.json): no transform needed.
module.exports = { testEnvironment: 'node', testMatch: ['<rootDir>/build/**/*.spec.js'], transform: {} };
