//! One call at a time: async methods that hold a `&mut` across an `await` take turns, in the
//! order they were called, so a page that fires `infer` twice without waiting gets two answers
//! instead of a borrow panic.

use std::cell::RefCell;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// The queue: a promise that resolves when the latest caller's turn ends.
#[derive(Default)]
pub struct Turns {
    last: RefCell<Option<Promise>>,
}

/// A caller's turn; the next caller's begins when it is dropped.
pub struct Turn(Function);

impl Turns {
    /// Waits until every earlier caller's turn has ended.
    pub async fn wait(&self) -> Turn {
        let mut release = None;
        let mine = Promise::new(&mut |resolve, _reject| release = Some(resolve));
        let before = self.last.replace(Some(mine));
        if let Some(before) = before {
            // It only ever resolves (see `Drop for Turn`).
            let _ = JsFuture::from(before).await;
        }
        Turn(release.expect("the Promise constructor runs its executor at once"))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let _ = self.0.call0(&JsValue::UNDEFINED);
    }
}
