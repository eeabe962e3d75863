//! Discord's JSON for the objects the fake hands out: users, members, the guild with its
//! channels, messages (shapes from the API documentation, checked against serenity's models).

use serde_json::{json, Value};

use super::state::Msg;
use super::{name_of, uid, APPROVALS, BOT, GENERAL, GUILD, PEOPLE};

/// Whether a channel is one of the guild's (else a DM channel).
pub(super) fn in_guild(channel: u64) -> bool {
    channel == APPROVALS || channel == GENERAL
}

/// Now, as Discord writes times.
fn ts() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) fn user_json(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "username": name_of(id),
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": id == BOT || id == uid("otherbot"),
        "public_flags": 0,
    })
}

pub(super) fn member_json(id: u64) -> Value {
    json!({
        "user": user_json(id),
        "nick": null,
        "avatar": null,
        "roles": [],
        "joined_at": "2024-01-01T00:00:00.000Z",
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
    })
}

fn channel_json(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(), "type": 0, "guild_id": GUILD.to_string(), "name": name,
        "position": 0, "permission_overwrites": [], "nsfw": false, "topic": null,
        "last_message_id": null, "parent_id": null, "rate_limit_per_user": 0,
    })
}

/// The guild as GUILD_CREATE sends it; `community_locale`: a Community guild's preferred
/// locale (a Community guild has a rules and an updates channel), else Discord's default.
pub(super) fn guild_json(community_locale: Option<&str>) -> Value {
    let mut guild = json!({
        "id": GUILD.to_string(), "name": "Contoso", "icon": null, "icon_hash": null,
        "splash": null, "discovery_splash": null, "owner_id": uid("dave").to_string(),
        "afk_channel_id": null, "afk_timeout": 300, "widget_enabled": false,
        "verification_level": 1, "default_message_notifications": 1,
        "explicit_content_filter": 2, "features": [], "mfa_level": 0,
        "application_id": null, "system_channel_id": GENERAL.to_string(),
        "system_channel_flags": 0, "rules_channel_id": null, "max_presences": null,
        "max_members": 500000, "vanity_url_code": null, "description": null, "banner": null,
        "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": null, "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50, "nsfw_level": 0, "stickers": [], "emojis": [],
        "premium_progress_bar_enabled": false, "safety_alerts_channel_id": null,
        "roles": [{
            "id": GUILD.to_string(), "name": "@everyone", "color": 0,
            "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
            "hoist": false, "icon": null, "unicode_emoji": null, "position": 0,
            "permissions": "1071698660929", "managed": false, "mentionable": false, "flags": 0,
        }],
        "joined_at": "2024-01-01T00:00:00.000Z", "large": false, "unavailable": false,
        "member_count": PEOPLE.len() + 1, "voice_states": [],
        "members": [member_json(BOT)],
        "channels": [channel_json(APPROVALS, "license-approvals"), channel_json(GENERAL, "general")],
        "threads": [], "presences": [], "stage_instances": [], "guild_scheduled_events": [],
    });
    if let Some(locale) = community_locale {
        guild["features"] = json!(["COMMUNITY", "NEWS"]);
        guild["preferred_locale"] = json!(locale);
        guild["rules_channel_id"] = json!(GENERAL.to_string());
        guild["public_updates_channel_id"] = json!(GENERAL.to_string());
    }
    guild
}

/// The guild as GUILD_UPDATE sends it: the guild object without GUILD_CREATE's extra fields.
pub(super) fn guild_update_json(community_locale: Option<&str>) -> Value {
    let mut guild = guild_json(community_locale);
    if let Some(fields) = guild.as_object_mut() {
        for extra in [
            "joined_at",
            "large",
            "unavailable",
            "member_count",
            "voice_states",
            "members",
            "channels",
            "threads",
            "presences",
            "stage_instances",
            "guild_scheduled_events",
        ] {
            fields.remove(extra);
        }
    }
    guild
}

/// A message as Discord's REST API and gateway write it.
pub(super) fn message_json(m: &Msg) -> Value {
    let reactions: Vec<Value> = m
        .reactions
        .iter()
        .filter(|(_, users)| !users.is_empty())
        .map(|(emoji, users)| {
            json!({
                "count": users.len(),
                "count_details": {"burst": 0, "normal": users.len()},
                "me": users.contains(&BOT), "me_burst": false, "burst_colors": [],
                "emoji": {"id": null, "name": emoji},
            })
        })
        .collect();
    let mut v = json!({
        "id": m.id.to_string(), "channel_id": m.channel.to_string(),
        "author": user_json(m.author), "content": m.content, "timestamp": ts(),
        "edited_timestamp": if m.edits > 0 { Value::from(ts()) } else { Value::Null },
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": super::uploads::attachments_json(m.channel, &m.attachments),
        "embeds": [], "pinned": false,
        "type": if m.reply_to.is_some() { 19 } else { 0 },
        "flags": m.flags, "reactions": reactions, "components": m.components,
    });
    if let Some(r) = m.reply_to {
        v["message_reference"] =
            json!({"type": 0, "message_id": r.to_string(), "channel_id": m.channel.to_string()});
    }
    if let Some(n) = &m.nonce {
        v["nonce"] = json!(n);
    }
    if in_guild(m.channel) {
        v["guild_id"] = json!(GUILD.to_string());
    }
    v
}
