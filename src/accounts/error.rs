//! Typed errors of sign-in and password changes: a stable `code()` for
//! programs (part of the API contract), `zh()`/`en()` for people.
//!
//! `zh()` and `en()` are safe to show to any client: they never contain a
//! password, a hash, a token or an internal detail. `Display` is for logs:
//! it is the English message plus, for store failures, the detail.

use super::{LOCK_MINUTES, MAX_FAILED_ATTEMPTS, policy};

/// Why a sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Unknown account, an account no longer in the configuration, or a
    /// wrong password: deliberately indistinguishable.
    #[error("{}", self.en())]
    BadCredentials,
    /// Too many wrong passwords in a row; refused until `until_ms`, even with
    /// the right password.
    #[error("{}", self.en())]
    Locked { until_ms: i64 },
    /// The account exists but has no password yet: an administrator sets one.
    #[error("{}", self.en())]
    NoPassword,
    /// Too many password checks at once; try again shortly.
    #[error("{}", self.en())]
    Busy,
    /// The account store (or the system under it) failed: a server fault.
    #[error("account store failed: {0}")]
    Store(String),
}

impl SignInError {
    /// Stable, snake_case.
    pub fn code(&self) -> &'static str {
        match self {
            SignInError::BadCredentials => "bad_credentials",
            SignInError::Locked { .. } => "account_locked",
            SignInError::NoPassword => "no_password",
            SignInError::Busy => "busy",
            SignInError::Store(_) => "account_store_error",
        }
    }

    pub fn zh(&self) -> String {
        match self {
            SignInError::BadCredentials => "账号或密码错误".to_owned(),
            SignInError::Locked { .. } => locked_zh(),
            SignInError::NoPassword => no_password_zh(),
            SignInError::Busy => busy_zh(),
            SignInError::Store(_) => store_zh(),
        }
    }

    pub fn en(&self) -> String {
        match self {
            SignInError::BadCredentials => "wrong account or password".to_owned(),
            SignInError::Locked { .. } => locked_en(),
            SignInError::NoPassword => no_password_en(),
            SignInError::Busy => busy_en(),
            SignInError::Store(_) => store_en(),
        }
    }
}

/// Why a password change or reset was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// No such account in the configuration.
    #[error("{}", self.en())]
    UnknownAccount,
    /// The current password given is wrong (counts as a failed attempt).
    #[error("{}", self.en())]
    WrongPassword,
    #[error("{}", self.en())]
    Locked { until_ms: i64 },
    /// A password change needs a current password; this account has none.
    #[error("{}", self.en())]
    NoPassword,
    /// Longer than [`policy::MAX_PASSWORD_CHARS`]; refused before hashing.
    #[error("{}", self.en())]
    TooLong,
    /// Refused by the password policy; the reason says which rule.
    #[error("{}", self.en())]
    TooWeak(Weakness),
    #[error("{}", self.en())]
    Busy,
    #[error("account store failed: {0}")]
    Store(String),
}

impl PasswordError {
    /// Stable, snake_case. Every policy refusal is `password_too_weak`;
    /// [`Weakness::code`] tells which rule.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordError::UnknownAccount => "unknown_account",
            PasswordError::WrongPassword => "wrong_password",
            PasswordError::Locked { .. } => "account_locked",
            PasswordError::NoPassword => "no_password",
            PasswordError::TooLong => "password_too_long",
            PasswordError::TooWeak(_) => "password_too_weak",
            PasswordError::Busy => "busy",
            PasswordError::Store(_) => "account_store_error",
        }
    }

    pub fn zh(&self) -> String {
        match self {
            PasswordError::UnknownAccount => "没有这个账号".to_owned(),
            PasswordError::WrongPassword => "原密码错误".to_owned(),
            PasswordError::Locked { .. } => locked_zh(),
            PasswordError::NoPassword => no_password_zh(),
            PasswordError::TooLong => {
                format!("密码不能超过{}个字符", policy::MAX_PASSWORD_CHARS)
            }
            PasswordError::TooWeak(w) => w.zh(),
            PasswordError::Busy => busy_zh(),
            PasswordError::Store(_) => store_zh(),
        }
    }

    pub fn en(&self) -> String {
        match self {
            PasswordError::UnknownAccount => "there is no such account".to_owned(),
            PasswordError::WrongPassword => "the current password is wrong".to_owned(),
            PasswordError::Locked { .. } => locked_en(),
            PasswordError::NoPassword => no_password_en(),
            PasswordError::TooLong => format!(
                "a password may have at most {} characters",
                policy::MAX_PASSWORD_CHARS
            ),
            PasswordError::TooWeak(w) => w.en(),
            PasswordError::Busy => busy_en(),
            PasswordError::Store(_) => store_en(),
        }
    }
}

/// Which rule of the password policy a new password breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weakness {
    /// Fewer than [`policy::MIN_PASSWORD_CHARS`] characters.
    TooShort,
    /// Equal to the account name (ignoring case).
    SameAsAccount,
    /// On the list of common passwords (ignoring case).
    TooCommon,
    /// One character repeated, or a straight run like `12345678`.
    TooSimple,
    /// Contains a control character (newline, tab, NUL …).
    ControlCharacter,
    /// Equal to the current password.
    SameAsOld,
}

impl Weakness {
    /// Stable, snake_case detail of `password_too_weak`.
    pub fn code(&self) -> &'static str {
        match self {
            Weakness::TooShort => "too_short",
            Weakness::SameAsAccount => "same_as_account",
            Weakness::TooCommon => "too_common",
            Weakness::TooSimple => "too_simple",
            Weakness::ControlCharacter => "control_character",
            Weakness::SameAsOld => "same_as_old",
        }
    }

    pub fn zh(&self) -> String {
        match self {
            Weakness::TooShort => format!("密码至少需要{}个字符", policy::MIN_PASSWORD_CHARS),
            Weakness::SameAsAccount => "密码不能与账号相同".to_owned(),
            Weakness::TooCommon => "这个密码太常见，很容易被猜到，请换一个".to_owned(),
            Weakness::TooSimple => {
                "密码不能是同一个字符重复，或连续的数字、字母（如12345678、abcdefgh）".to_owned()
            }
            Weakness::ControlCharacter => "密码不能包含换行、制表符等控制字符".to_owned(),
            Weakness::SameAsOld => "新密码不能与原密码相同".to_owned(),
        }
    }

    pub fn en(&self) -> String {
        match self {
            Weakness::TooShort => format!(
                "a password needs at least {} characters",
                policy::MIN_PASSWORD_CHARS
            ),
            Weakness::SameAsAccount => "the password must not be the account name".to_owned(),
            Weakness::TooCommon => {
                "this password is too common and easy to guess; choose another".to_owned()
            }
            Weakness::TooSimple => "the password must not be one character repeated or a straight \
                                    run of digits or letters (such as 12345678 or abcdefgh)"
                .to_owned(),
            Weakness::ControlCharacter => {
                "the password must not contain control characters (newline, tab …)".to_owned()
            }
            Weakness::SameAsOld => "the new password must differ from the current one".to_owned(),
        }
    }
}

fn locked_zh() -> String {
    format!(
        "连续{MAX_FAILED_ATTEMPTS}次密码错误，账号已锁定{LOCK_MINUTES}分钟；请稍后再试，或请管理员重置密码"
    )
}

fn locked_en() -> String {
    format!(
        "the account is locked for {LOCK_MINUTES} minutes after {MAX_FAILED_ATTEMPTS} wrong passwords \
         in a row; try again later or ask the administrator to reset the password"
    )
}

fn no_password_zh() -> String {
    "此账号尚未设置密码，请联系系统管理员设置初始密码".to_owned()
}

fn no_password_en() -> String {
    "this account has no password yet; ask the administrator to set one".to_owned()
}

fn busy_zh() -> String {
    "同时登录的请求过多，请稍后再试".to_owned()
}

fn busy_en() -> String {
    "too many sign-ins at once; try again in a moment".to_owned()
}

fn store_zh() -> String {
    "账号服务出错，请联系系统管理员".to_owned()
}

fn store_en() -> String {
    "the account service failed; ask the administrator".to_owned()
}
