import 'aws-sdk-client-mock-vitest/extend';
import './helpers/model-check.js';
