/** Where the emulator finds the ECR service by default. */
export { createEcrService as defaultEcrFactory } from './ecr/index.js';
