//! Network pieces shared by the doors (SMTP, release API, admin console): brute-force
//! throttling of codes and logins. Owns no protocol and no route; must not import a door or a
//! stage other than the store it counts in.

pub mod throttle;
