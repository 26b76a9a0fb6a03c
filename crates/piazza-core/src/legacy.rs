//! Areas whose rules still live in an engine (SQLite's store): each
//! method forwards to it. A method leaves this file for its area's module
//! when its rules move above the engines; the file goes with the last one.

use piazza_domain::store::*;
use piazza_domain::*;

use crate::Core;

impl Core {}
