/** Entry of runtime.js (an ES2017 IIFE injected first in the page's <head>). */

import { boot } from "./boot";

boot(window);
