//! What people should read for every Ayrshare sample body.

/// `(fixture file, event type, summary)` for every sample body in the shared fixtures.
pub const FIXTURES: &[(&str, &str, &str)] = &[
    (
        "scheduled",
        "scheduled",
        "scheduled post published to Facebook, LinkedIn (post Qm7xT2pLk9VbR4sNw8Ze)",
    ),
    (
        "scheduled-error",
        "scheduled",
        "scheduled post to 2 networks failed on Instagram: Instagram rejected the media: unsupported aspect ratio (code 138); published to X (post Zt4pQ8wNc2Lk6RbY0sHd)",
    ),
    (
        "scheduled-tiktok-published",
        "scheduled.tikTokPublished",
        "TikTok published: the video is public at https://www.tiktok.com/@acme_demo/video/7481234567890123456 (post Qm7xT2pLk9VbR4sNw8Ze)",
    ),
    (
        "social-unlink-system",
        "social.unlink",
        "facebook unlinked by system (Acme Coffee Roasters): Facebook authorization expired. Please relink the account (code 161). Tell the user to relink",
    ),
    (
        "social-link-user",
        "social.link",
        "instagram linked by user (acme.coffee)",
    ),
    (
        "social-refresh-system",
        "social.refresh",
        "linkedin needs a refresh by 2025-04-03 (system, Acme Coffee Roasters). Tell the user to re-authorize",
    ),
    (
        "messages-new-facebook",
        "messages.messageCreated",
        "Facebook message from Dana Whitfield in conversation t_10229384756473829: \"Hi! Do you ship beans to Canada?\"",
    ),
    (
        "messages-read-facebook",
        "messages.messageRead",
        "Facebook read: everything in conversation t_10229384756473829 up to 14:26:29 UTC on 2025-03-16 is read",
    ),
    (
        "messages-read-instagram",
        "messages.messageRead",
        "Instagram read: message aWdfZAG1faXRlbToxOklHTWV… in conversation aWdfZGdfdGhyZWFkOjE3ODQx…",
    ),
    (
        "reaction-created",
        "messages.reactionCreated",
        "Instagram reaction ❤️ (love) added to message aWdfZAG1faXRlbToxOklHTWV…",
    ),
    (
        "reaction-deleted",
        "messages.reactionDeleted",
        "Instagram reaction love removed from message aWdfZAG1faXRlbToxOklHTWV…",
    ),
    (
        "message-legacy-create",
        "message.create",
        "X direct message from Dana Whitfield (@danaw): \"Loved the Ethiopia roast, when is it back?\"",
    ),
    (
        "comments-instagram",
        "comments.commentCreated",
        "Instagram comment from @dana.whitfield on post Qm7xT2pLk9VbR4sNw8Ze: \"Where can I buy this blend?\"",
    ),
    (
        "batch",
        "batch",
        "batch bt_9Qw2Er5Ty8Ui1Op4As7D finished: 2 of 3 posts succeeded, 1 failed; file: https://hooks.example.dev/ayrshare",
    ),
    (
        "feed",
        "feed",
        "feed: new RSS item \"Five ways to dial in your pour-over\" posted to LinkedIn (https://blog.example.dev/pour-over-guide)",
    ),
];

/// The shared fixtures when this checkout sits beside them, else the copies in `assets/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let shared = format!(
        "{}/../shared/fixtures/ayrshare/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&shared)
        .or_else(|_| {
            std::fs::read(format!(
                "{}/assets/ayrshare/{name}.json",
                env!("CARGO_MANIFEST_DIR")
            ))
        })
        .unwrap()
}
