//! The suite again, on PostgreSQL. `cargo test` runs every test of this
//! binary on SQLite; this one runs the same binary again with
//! `PIAZZA_TEST_ENGINE=postgres`, where `spawn_app` and the server
//! processes get a fresh PostgreSQL database each (`helpers.rs`).
//!
//! PostgreSQL serves the areas whose rules have moved above the engines
//! (ARCHITECTURE.md, "Rules and engines"); `ON_POSTGRES` names the tests
//! of those areas and grows with each area until it is every test. A test
//! on the list that cannot reach PostgreSQL fails; none is skipped.

use std::process::Command;

use crate::helpers::on_postgres;

/// The tests (exact names) that run on PostgreSQL too. Left out on
/// purpose: tests of the engine-free parts (docs, the tour's reader),
/// tests that open the SQLite file itself, the tests that run on
/// PostgreSQL whatever the engine (`two_processes`, `cluster`, the
/// two-process chaos run), and the flood of half-sent requests, which is about sockets and
/// times itself tightly (run four at a time here, it misses its deadline
/// under load on either engine).
const ON_POSTGRES: &[&str] = &[
    "account_deletion::a_deleted_account_vanishes_at_once_and_comes_back_by_logging_in",
    "account_deletion::after_its_grace_period_a_deleted_account_is_erased",
    "account_deletion::log_ins_racing_the_erasure_restore_it_whole_or_find_it_gone",
    "account_deletion::no_money_reaches_an_erased_account_nor_a_deleted_merchant",
    "account_deletion::the_cli_deletes_an_account_only_when_told_so",
    "exports::a_link_downloads_an_export_once_without_a_token",
    "exports::an_export_holds_the_whole_history_its_contacts_money_and_media",
    "exports::the_cli_exports_to_a_file",
    "abuse::a_flood_that_lets_the_bucket_refill_is_still_closed",
    "abuse::a_group_is_capped_at_500_members",
    "abuse::a_slow_body_is_cut_by_the_request_timeout",
    "abuse::a_slow_request_head_is_cut_off",
    "abuse::a_socket_at_its_frame_rate_is_never_closed",
    "abuse::a_socket_past_its_frame_rate_is_refused_then_closed",
    "abuse::a_websocket_frame_past_the_cap_ends_the_socket",
    "abuse::an_account_past_its_request_rate_is_told_when_to_retry",
    "abuse::anonymous_requests_are_limited_per_address",
    "abuse::cors_is_closed_and_api_answers_are_nosniff",
    "abuse::every_route_without_a_token_is_charged_to_its_address",
    "abuse::pages_are_capped",
    "abuse::profile_and_group_changes_are_limited_per_account",
    "abuse::sockets_per_account_are_capped",
    "article_cards::a_bad_or_unknown_article_is_refused_and_nothing_is_sent",
    "article_cards::a_shared_article_arrives_as_it_was_with_a_cover_members_may_fetch",
    "article_cards::the_cli_shares_an_article_and_shows_its_card",
    "bad_input::bad_input_is_a_4xx_problem_and_changes_nothing",
    "bad_input::repeated_failed_logins_are_refused_with_429",
    "bad_input::requests_the_http_parser_refuses_are_problem_json_too",
    "blocks::a_block_closes_money_reactions_and_old_requests_too",
    "blocks::a_block_reaches_the_blockers_other_devices_and_never_the_blocked",
    "blocks::a_block_stops_direct_messages_either_way_but_not_groups",
    "blocks::a_block_stops_requests_presence_and_typing",
    "blocks::typing_stops_at_a_block_both_ways_and_returns_at_the_unblock",
    "channels::a_publish_never_waits_for_its_fan_out_which_resumes_after_a_restart",
    "channels::admin_check_reports_moments_and_channels_counters_and_rules_broken",
    "channels::an_xss_corpus_renders_harmless_on_the_public_page",
    "channels::bad_channel_input_is_a_4xx_problem",
    "channels::comments_sent_at_once_stop_at_the_per_account_cap",
    "channels::fan_out_tasks_take_turns_so_a_long_one_holds_no_other_back",
    "channels::followers_are_counted_and_the_feed_marks_what_was_read",
    "channels::followers_learn_of_an_article_live_and_by_sync_and_no_one_else",
    "channels::held_comments_are_seen_by_their_author_and_managers_until_featured",
    "channels::managers_page_through_every_held_comment_past_the_newest_200",
    "channels::naming_an_editor_tells_nothing_of_who_exists",
    "channels::only_the_owner_and_its_editors_publish_and_feature",
    "channels::the_atom_feed_reads_back_with_a_feed_parser",
    "channels::the_cli_creates_follows_publishes_and_reads_the_feed",
    "chaos::a_failed_run_names_its_seed_and_exits_non_zero",
    "chaos::ten_kills_under_load_lose_and_repeat_nothing",
    "chat::a_group_of_three",
    "chat::a_non_member_can_neither_read_nor_post",
    "chat::a_retried_send_is_stored_once",
    "chat::asking_back_accepts_and_requests_are_not_doubled",
    "chat::two_accounts_become_contacts_and_chat",
    "cli_chat::block_and_unblock_from_the_cli",
    "cli_chat::group_administration_from_the_cli",
    "cli_chat::history_names_people_marks_pictures_and_marks_the_conversation_read",
    "cli_chat::moments_post_feed_like_and_comment_from_the_cli",
    "cli_chat::recall_delete_and_react_take_the_number_history_shows",
    "cli_chat::remarks_and_contact_codes_from_the_cli",
    "cli_chat::replies_mentions_places_cards_forwards_and_settings_from_the_cli",
    "cli_chat::the_cli_shows_which_contacts_are_online",
    "cli_pay::the_cli_asks_for_the_pin_where_the_server_does",
    "cli_pay::the_pay_commands_move_money_end_to_end",
    "cli_profiles::the_cli_shows_and_sets_profiles_declines_and_changes_passwords",
    "cli_shops::a_shop_sells_through_the_cli_from_cart_to_refund",
    "cli_watch::watch_outlives_a_server_restart_and_prints_every_event_once",
    "compose::a_forward_carries_content_the_sender_can_see_and_shares_its_picture",
    "compose::a_member_sees_no_reply_to_what_came_before_they_joined",
    "compose::a_place_and_a_card_carry_what_they_show",
    "compose::a_reply_with_mentions_arrives_whole_everywhere",
    "compose::every_kind_of_message_replays_as_itself",
    "compose::replies_and_mentions_outside_what_the_sender_sees_are_refused",
    "compose::the_member_count_follows_joins_leaves_and_removals",
    "connections::an_address_past_its_cap_loses_its_oldest_idle_connections",
    "connections::past_the_total_cap_the_oldest_idle_go_and_busy_ones_stay",
    "contact_extras::a_contact_code_asks_its_owner_and_a_reset_revokes_it",
    "contact_extras::a_remark_is_the_callers_own_and_reaches_only_its_devices",
    "contact_extras::a_remark_needs_a_contact_and_a_short_line",
    "contact_extras::asking_by_code_keeps_every_rule_of_asking",
    "contact_extras::guessing_codes_is_cut_short",
    "conversation_list::at_most_ten_are_pinned",
    "conversation_list::pages_keep_pinned_first_and_each_once",
    "conversation_list::settings_reach_every_device_and_order_the_list",
    "conversation_list::the_last_message_is_the_last_one_each_member_sees",
    "conversation_list::unread_and_mention_counts_follow_reading",
    "crash::kill_9_under_load_loses_nothing_acknowledged",
    "delete_for_me::a_message_deleted_for_me_leaves_only_my_devices",
    "delete_for_me::deleting_what_one_cannot_see_changes_nothing",
    "device_details::a_qr_log_in_is_seen_as_the_page_that_picked_its_token_up",
    "device_details::a_user_agent_is_kept_short_and_none_is_no_client",
    "device_details::each_device_says_what_it_is_and_where_it_was_last_used",
    "devices::a_brand_new_device_rebuilds_the_whole_account",
    "devices::a_browser_can_pass_its_token_in_the_query",
    "devices::a_burst_of_requests_each_gets_its_own_device",
    "devices::a_revoked_device_is_refused_and_disconnected",
    "devices::a_socket_sends_with_acks_and_resumes_from_its_cursor",
    "devices::a_socket_that_falls_behind_is_closed_and_catches_up_by_sync",
    "devices::long_poll_answers_when_an_event_arrives",
    "devices::shutting_down_closes_sockets_with_going_away",
    "devices::three_devices_one_offline_all_converge",
    "groups::a_full_group_takes_nobody_by_invitation_or_approval",
    "groups::admins_edit_announce_remove_and_moderate_and_members_may_not",
    "groups::an_invitation_lets_anyone_in_once_and_fails_alike_when_it_cannot",
    "groups::approval_mode_makes_joins_wait_for_an_admin",
    "groups::leaving_passes_ownership_to_an_admin_then_the_longest_standing_member",
    "groups::only_the_owner_names_admins_and_every_member_sees_roles",
    "integrity::a_sound_store_starts_after_its_check",
    "integrity::admin_check_reports_shops_stock_money_and_orders_broken",
    "integrity::an_edited_posting_refuses_the_start_and_says_how_to_restore",
    "integrity::damage_found_while_running_fails_healthz_and_halts_top_ups",
    "integrity::damage_found_while_running_halts_transfers",
    "isolation::a_stranger_is_refused_every_id_of_another_account",
    "leases::a_lease_has_one_holder_until_it_lapses",
    "lists::every_list_pages_with_a_cursor",
    "login_requests::a_device_revoked_before_pick_up_never_gets_a_token",
    "login_requests::a_page_becomes_a_device_of_the_approving_account_once",
    "login_requests::an_expired_request_cannot_be_approved",
    "login_requests::approving_needs_an_explicit_confirmation",
    "login_requests::concurrent_polls_hand_the_token_out_once",
    "login_requests::creation_is_rate_limited_per_address",
    "login_requests::garbage_is_a_problem_not_a_crash",
    "login_requests::the_approver_sees_what_the_server_saw_not_what_the_page_typed",
    "login_requests::the_cli_shows_the_request_and_approves_only_on_yes",
    "login_requests::the_endpoints_are_in_the_openapi_document",
    "login_requests::wrong_secrets_and_codes_are_unknown_requests",
    "media::a_member_who_joins_later_or_leaves_cannot_fetch_it",
    "media::each_account_has_a_storage_quota",
    "media::racing_uploads_do_not_pass_the_quota",
    "media::the_cli_sends_an_image_from_a_file",
    "media::uploads_are_checked_for_type_magic_and_size",
    "media_kinds::a_file_that_could_run_script_is_only_ever_an_attachment",
    "media_kinds::a_forwarded_voice_note_reaches_its_new_members",
    "media_kinds::downloads_take_ranges_and_tags",
    "media_kinds::lying_and_oversized_uploads_are_refused_and_leave_nothing",
    "media_kinds::pictures_are_served_clean_upright_and_in_three_sizes",
    "media_kinds::the_cli_sends_files_and_shows_what_they_are",
    "media_kinds::voice_notes_and_videos_carry_their_lengths_and_sizes",
    "merchants::a_collection_above_the_limit_waits_and_moves_nothing",
    "merchants::a_payment_code_is_collected_once_under_the_limit",
    "merchants::a_tampered_code_is_refused_and_moves_nothing",
    "merchants::only_the_merchant_owner_refunds",
    "merchants::payments_replay_and_refuse_what_the_wallet_lacks",
    "merchants::refunds_are_partial_or_whole_and_never_exceed_the_payment",
    "merchants::static_and_dynamic_payments_reach_the_settlement_account",
    "merchants::the_code_is_drawn_as_png_and_svg",
    "merchants::the_code_round_trips_and_only_the_owner_sees_the_merchant",
    "moments::a_posts_likes_are_the_viewers_newest_fifty_with_a_count_of_all",
    "moments::a_posts_pictures_are_shown_to_those_who_may_see_it_until_it_is_deleted",
    "moments::a_removed_contacts_words_stay_removable_and_replies_no_longer_reach_them",
    "moments::a_removed_or_blocked_contact_loses_posts_likes_and_comments_both_ways",
    "moments::a_strangers_post_is_not_found_to_read_like_or_comment",
    "moments::bad_moments_are_refused_as_problems_and_change_nothing",
    "moments::likes_and_comments_are_logged_to_the_author_and_the_one_replied_to",
    "moments::likes_and_comments_show_only_from_the_viewers_contacts",
    "moments::only_and_except_decide_who_sees_a_post",
    "moments::privacy_lists_hide_my_moments_and_keep_others_out_of_my_feed",
    "moments::the_feed_is_newest_first_a_page_at_a_time",
    "moments::the_horizon_hides_older_posts_from_others_but_never_from_the_author",
    "order_chats::staff_named_later_join_open_orders_conversations_and_leave_when_removed",
    "order_chats::the_buyer_and_the_shop_chat_in_the_orders_conversation_and_no_one_else",
    "order_property::no_sequence_of_calls_breaks_an_order_or_moves_stock_or_money_wrongly",
    "password_attempts::a_guesser_at_one_address_cannot_lock_the_owner_out",
    "password_attempts::a_logged_in_device_approves_a_qr_login_while_the_username_is_under_attack",
    "password_attempts::guessing_from_one_address_is_stopped",
    "password_attempts::many_addresses_guessing_one_username_are_slowed_but_the_owner_gets_in",
    "pay_codes::a_code_needs_the_pin_or_one_entered_lately_on_that_device",
    "pay_codes::a_device_token_alone_cannot_drain_the_wallet",
    "pay_codes::a_locked_pin_blocks_codes_and_collections",
    "pay_codes::a_locked_pin_blocks_the_owners_refunds",
    "pay_codes::a_pin_change_closes_every_devices_window",
    "pay_codes::collections_without_confirmation_are_capped_per_day",
    "pay_codes::every_collection_reaches_the_buyers_devices_at_once",
    "pay_codes::racing_collections_cannot_both_slip_under_the_cap",
    "pay_concurrency::accepts_racing_the_expiry_return_settle_each_transfer_once",
    "pay_concurrency::claims_racing_the_expiry_refund_pay_out_the_total_exactly_once",
    "pay_concurrency::one_key_sent_ten_times_at_once_moves_the_money_once",
    "pay_concurrency::one_member_claiming_ten_times_at_once_gets_one_share",
    "pay_concurrency::spenders_racing_for_the_last_balance_never_both_succeed",
    "pay_concurrency::two_hundred_members_racing_for_packets_never_over_claim_or_under_pay",
    "pay_concurrency::wrong_pins_racing_each_other_lock_after_exactly_five",
    "pay_crash::kill_9_during_a_payment_storm_loses_and_repeats_nothing",
    "pay_pin::a_forgotten_pin_is_reset_after_a_wait_that_holds_the_money",
    "pay_pin::a_log_in_lock_blocks_setting_the_pin",
    "pay_pin::a_new_pin_never_lifts_a_pin_lock",
    "pay_pin::changing_the_pin_needs_the_old_pin",
    "pay_pin::the_current_pin_cancels_a_reset",
    "pay_pin::wrong_passwords_on_the_pin_are_limited_like_log_in",
    "pay_rules::a_declined_collection_moves_nothing_and_tells_both_sides",
    "pay_rules::a_failing_gateway_moves_nothing_and_a_retry_with_the_same_key_heals",
    "pay_rules::a_red_packet_above_the_configured_cap_is_refused",
    "pay_rules::an_expired_payment_code_is_refused_and_moves_nothing",
    "pay_rules::an_unconfirmed_collection_lapses",
    "pay_rules::the_buyer_confirms_a_collection_above_the_limit_with_their_pin",
    "pay_rules::the_pin_lock_out_follows_the_config",
    "presence::contacts_see_online_and_last_seen_and_strangers_nothing",
    "presence::presence_shown_to_nobody_is_shown_to_nobody",
    "product_cards::a_shared_product_arrives_as_it_was_with_a_picture_members_may_fetch",
    "product_cards::an_unlisted_unknown_or_bad_product_is_refused_and_nothing_is_sent",
    "profiles::a_profile_is_shown_as_far_as_the_viewer_may_see_it",
    "profiles::a_refused_profile_change_changes_nothing",
    "profiles::a_wrong_old_password_is_counted_with_failed_log_ins",
    "profiles::an_avatar_is_readable_by_others_only_while_it_is_one",
    "profiles::changing_the_password_tells_the_other_devices_and_may_sign_them_out",
    "profiles::events_carry_names_and_avatars",
    "profiles::thumbnails_are_small_kept_and_guarded_like_their_media",
    "reactions::a_page_names_the_first_twenty_and_counts_everyone",
    "reactions::reactions_are_counted_per_emoji_and_reach_every_member",
    "reactions::refused_reactions_change_nothing_and_a_recall_takes_them_away",
    "read_receipts::groups_and_outsiders_learn_nothing",
    "read_receipts::sending_counts_as_reading_without_a_receipt",
    "read_receipts::the_peer_learns_live_and_by_sync_only_when_the_position_advances",
    "recall::a_recalled_message_is_gone_for_every_member_everywhere",
    "recall::files_places_and_cards_are_recalled_whole",
    "recall::late_foreign_and_money_recalls_change_nothing",
    "red_packets::a_signed_out_device_claims_nothing_though_its_session_was_remembered",
    "red_packets::an_equal_packet_runs_out_and_strangers_see_nothing",
    "red_packets::the_unclaimed_rest_goes_back_at_expiry",
    "red_packets::twenty_members_claiming_at_once_share_the_total_exactly",
    "routes::an_image_is_the_one_body_past_64_kib",
    "routes::each_path_answers_the_methods_the_document_gives_it",
    "search::a_typed_word_finds_itself_among_more_used_longer_words",
    "search::an_existing_history_is_indexed_after_an_upgrade",
    "search::bad_searches_are_refused_with_a_problem",
    "search::channels_articles_and_listed_products_are_found_by_anyone",
    "search::contacts_are_found_by_remark_display_name_and_username",
    "search::hits_older_than_the_first_window_are_found_and_paged",
    "search::members_find_only_what_they_can_see",
    "search::pages_run_newest_first_without_repeats",
    "search::the_cli_searches_and_admin_tells_how_far_the_index_has_come",
    "search::the_corpus_finds_what_it_must_and_nothing_else",
    "send_order::one_sockets_sends_are_stored_in_the_order_sent_under_a_saturated_writer",
    "serve_output::a_first_start_says_where_the_data_is_the_url_and_how_to_stop",
    "shop_pages::a_hostile_shop_and_product_render_harmless",
    "shop_pages::the_pages_carry_open_graph_tags_prices_and_stock",
    "shop_pages::unknown_and_unlisted_are_404_and_only_a_shops_pictures_are_served",
    "shops::a_hundred_buyers_for_ten_units_make_exactly_ten_orders",
    "shops::a_shipped_order_is_confirmed_by_itself_after_the_delay",
    "shops::my_shops_are_the_ones_i_own_or_staff_wherever_i_log_in",
    "shops::an_order_goes_from_cart_to_escrow_to_the_shop",
    "shops::an_unpaid_order_expires_releasing_its_stock_and_a_late_payment_moves_nothing",
    "shops::bad_shop_input_is_a_4xx_problem_and_changes_nothing",
    "shops::cancelling_before_shipping_refunds_in_full_and_returns_the_stock",
    "shops::only_the_right_side_moves_an_order_and_strangers_see_nothing",
    "shops::refunds_are_partial_never_past_what_was_paid_before_and_after_release",
    "sync_property::devices_converge_whatever_the_interleaving",
    "transfers::a_replayed_send_moves_the_money_once",
    "transfers::an_expired_transfer_cannot_be_accepted_even_before_it_is_swept",
    "transfers::an_unaccepted_transfer_returns_to_the_sender",
    "transfers::decline_returns_the_money_and_then_accept_is_refused",
    "transfers::only_the_recipient_decides_and_only_the_two_see_it",
    "transfers::refused_sends_move_nothing",
    "transfers::send_holds_the_money_and_accept_delivers_it",
    "transfers::the_transfer_is_a_message_in_the_direct_conversation",
    "typing::only_a_member_types_and_a_removed_one_stops_at_once",
    "typing::typing_reaches_the_other_members_and_is_never_logged",
    "wallet::a_wallet_is_its_owners_alone",
    "wallet::bad_amounts_are_refused_and_move_nothing",
    "wallet::idempotency_keys_replay_and_refuse_reuse",
    "wallet::racing_withdrawals_for_the_last_balance_pay_out_once",
    "wallet::the_wallet_cap_counts_the_balance_and_spares_replays",
    "wallet::top_up_credits_the_wallet_and_shows_in_statement_and_log",
    "wallet::top_ups_past_what_a_wallet_may_hold_are_refused_not_503",
    "wallet::withdrawal_needs_the_pin_and_five_wrong_ones_lock_it",
    "wallet::without_a_gateway_money_cannot_move",
    "web_pages::nothing_outside_the_assets_folder_is_served",
    "web_pages::the_api_keeps_its_problem_404s",
    "web_pages::the_page_its_assets_and_client_routes",
];

#[test]
fn the_suite_passes_on_postgres_too() {
    if on_postgres() {
        return; // The run this test started.
    }
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args(ON_POSTGRES)
        .args(["--exact", "--test-threads", "4"])
        .env("PIAZZA_TEST_ENGINE", "postgres")
        .output()
        .expect("the test binary runs again");
    let report = String::from_utf8_lossy(&output.stdout);
    let passed = report
        .lines()
        .filter(|line| line.ends_with("... ok"))
        .count();
    assert!(
        output.status.success() && passed == ON_POSTGRES.len(),
        "on PostgreSQL, {passed} of {} passed:\n{report}\n{}",
        ON_POSTGRES.len(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `piazza admin check` and `ledger-check` on PostgreSQL: a sound
/// database passes; a gap in a log and a ledger transaction that does not
/// balance are each named.
#[test]
fn the_checks_find_gaps_and_unbalanced_money_on_postgres() {
    let database = piazza_postgres::testing::TestDatabase::create();
    let admin = |check: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_piazza"))
            .args(["admin", check, "--database-url", &database.url])
            .output()
            .expect("the piazza binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.success(), stdout)
    };
    assert!(admin("check").0, "an empty database is sound");
    assert!(admin("ledger-check").0, "an empty ledger is sound");
    let url = database.url.clone();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client
            .batch_execute(
                "INSERT INTO accounts (id, username, display_name, password_hash, created_at, log_head)
                 VALUES (1, 'ann', 'Ann', 'x', 0, 2);
                 INSERT INTO account_log (account_id, log_seq, at, data) VALUES (1, 2, 0, '{}');
                 INSERT INTO conversations (id, kind, title, created_at, last_activity_at, member_count)
                 VALUES (1, 1, 'Lost', 0, 0, 2);
                 INSERT INTO ledger_accounts (id, kind, holder, currency, balance_minor)
                 VALUES (1, 'gateway', 0, 'CNY', -500), (2, 'user_wallet', 1, 'CNY', 400);
                 INSERT INTO ledger_transactions (id, kind, account_id, ref, at)
                 VALUES (1, 'topup', 1, 'sandbox', 0);
                 INSERT INTO ledger_postings (transaction_id, ledger_account_id, amount_minor, balance_after_minor)
                 VALUES (1, 1, -500, -500), (1, 2, 400, 400);",
            )
            .unwrap();
    })
    .join()
    .unwrap();
    let (passed, report) = admin("check");
    assert!(
        !passed && report.contains("acct_1: log_head 2 but 1 entries"),
        "{report}"
    );
    assert!(
        report.contains("conv_1: member_count 2 but 0 members"),
        "{report}"
    );
    let (passed, report) = admin("ledger-check");
    assert!(
        !passed && report.contains("txn_1: 2 postings summing to -100"),
        "{report}"
    );
}
