import { engineContract } from './contract.js';
import { tempEngine } from '../helpers.js';

engineContract('lmdb', { create: tempEngine });
