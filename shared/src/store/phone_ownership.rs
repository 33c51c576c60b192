//! The `PhoneOwnership` port: who owns a phone number, and binding one to a user (the
//! ownership item is the uniqueness guard). It does not talk to WeChat or hold phone codes.

use super::{BindOutcome, StoreResult, User};
use crate::domain::{PhoneNumber, UserId};
use std::future::Future;

pub trait PhoneOwnership: Send + Sync {
    /// Who owns a phone number, if anyone (the ownership item is the uniqueness guard).
    fn phone_owner(
        &self,
        phone: &PhoneNumber,
    ) -> impl Future<Output = StoreResult<Option<UserId>>> + Send;

    /// Binds `phone` to `user` as read, atomically: the ownership item is created (or is
    /// already this user's), the user item gains the phone (version unchanged since read, no
    /// phone yet), and every openid link of the user carries the phone.
    fn bind_phone(
        &self,
        user: &User,
        phone: &PhoneNumber,
    ) -> impl Future<Output = StoreResult<BindOutcome>> + Send;

    /// Moves `user` (as read, with a phone) to `new`, atomically: the old number's ownership
    /// item is removed, the new one's created (`PhoneTaken` when someone owns it), the user
    /// item (version and old phone unchanged since read) and every openid link carry `new`.
    fn change_phone(
        &self,
        user: &User,
        new: &PhoneNumber,
    ) -> impl Future<Output = StoreResult<BindOutcome>> + Send;
}
