/* test-console-widgets.c: the console's pages checked as widgets, without
 * the agent: what a page accepts, refuses and says while the user types.
 *
 * Runs under xvfb-run (a display is needed to make widgets); skips when no
 * display can be opened.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "console-jobs-page.h"
#include "console-passphrase-page.h"
#include "console-util.h"

static GtkEntry *
entry (ConsolePassphrasePage *page, const char *name)
{
  return GTK_ENTRY (
      gtk_widget_get_template_child (GTK_WIDGET (page), CONSOLE_TYPE_PASSPHRASE_PAGE, name));
}

static void
test_passphrase_rule (void)
{
  g_autofree char *folder = g_dir_make_tmp ("passphrase-page-XXXXXX", NULL);
  GtkWidget *window = gtk_window_new (GTK_WINDOW_TOPLEVEL);
  ConsolePassphrasePage *page = CONSOLE_PASSPHRASE_PAGE (console_passphrase_page_new ());
  guint notified = 0;

  gtk_container_add (GTK_CONTAINER (window), GTK_WIDGET (page));
  g_signal_connect_swapped (page, "notify::complete", G_CALLBACK (g_atomic_int_inc), &notified);

  g_assert_false (console_passphrase_page_get_complete (page));
  g_assert_cmpstr (console_passphrase_page_get_rule_text (page), ==,
                   "At least 16 characters: 16 more characters needed.");

  /* Too short, whatever else is right. */
  gtk_entry_set_text (entry (page, "save_entry"), folder);
  gtk_entry_set_text (entry (page, "passphrase_entry"), "fifteen-chars!!");
  gtk_entry_set_text (entry (page, "confirm_entry"), "fifteen-chars!!");
  g_assert_false (console_passphrase_page_get_complete (page));
  g_assert_cmpstr (console_passphrase_page_get_rule_text (page), ==,
                   "At least 16 characters: 1 more character needed.");

  /* Sixteen, but not confirmed. */
  gtk_entry_set_text (entry (page, "passphrase_entry"), "sixteen-chars!!!");
  g_assert_false (console_passphrase_page_get_complete (page));
  g_assert_cmpstr (console_passphrase_page_get_rule_text (page), ==,
                   "At least 16 characters: ✓. The confirmation does not match.");

  /* Confirmed: complete, notified once. */
  gtk_entry_set_text (entry (page, "confirm_entry"), "sixteen-chars!!!");
  g_assert_true (console_passphrase_page_get_complete (page));
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpstr (console_passphrase_page_get_passphrase (page), ==, "sixteen-chars!!!");

  /* Not ASCII: refused, and the rule says why. */
  gtk_entry_set_text (entry (page, "passphrase_entry"), "sixteen-chårs!!!");
  gtk_entry_set_text (entry (page, "confirm_entry"), "sixteen-chårs!!!");
  g_assert_false (console_passphrase_page_get_complete (page));
  g_assert_nonnull (strstr (console_passphrase_page_get_rule_text (page), "printable ASCII"));
  g_assert_cmpuint (notified, ==, 2);

  /* A save location that is not a folder. */
  gtk_entry_set_text (entry (page, "passphrase_entry"), "sixteen-chars!!!");
  gtk_entry_set_text (entry (page, "confirm_entry"), "sixteen-chars!!!");
  g_assert_true (console_passphrase_page_get_complete (page));
  gtk_entry_set_text (entry (page, "save_entry"), "/nonexistent/folder");
  g_assert_false (console_passphrase_page_get_complete (page));
  gtk_entry_set_text (entry (page, "save_entry"), folder);
  /* A temporary folder is on this computer: the page warns, but allows it. */
  g_assert_true (console_passphrase_page_get_warns_this_machine (page));
  g_assert_true (console_passphrase_page_get_complete (page));

  gtk_widget_destroy (window);
  g_rmdir (folder);
}

/* 1,024 characters at most, as the agent's rule says; one more is refused
 * as the user types, saying by how many. */
static void
test_passphrase_maximum (void)
{
  g_autofree char *folder = g_dir_make_tmp ("passphrase-page-XXXXXX", NULL);
  g_autofree char *longest = g_strnfill (1024, 'a');
  g_autofree char *too_long = g_strnfill (1025, 'a');
  GtkWidget *window = gtk_window_new (GTK_WINDOW_TOPLEVEL);
  ConsolePassphrasePage *page = CONSOLE_PASSPHRASE_PAGE (console_passphrase_page_new ());

  gtk_container_add (GTK_CONTAINER (window), GTK_WIDGET (page));
  gtk_entry_set_text (entry (page, "save_entry"), folder);
  gtk_entry_set_text (entry (page, "passphrase_entry"), longest);
  gtk_entry_set_text (entry (page, "confirm_entry"), longest);
  g_assert_true (console_passphrase_page_get_complete (page));

  gtk_entry_set_text (entry (page, "passphrase_entry"), too_long);
  gtk_entry_set_text (entry (page, "confirm_entry"), too_long);
  g_assert_false (console_passphrase_page_get_complete (page));
  g_assert_cmpstr (console_passphrase_page_get_rule_text (page), ==,
                   "At most 1,024 characters: 1 character too many.");
  g_assert_cmpuint (console_passphrase_excess (too_long), ==, 1);
  g_assert_cmpuint (console_passphrase_excess (longest), ==, 0);

  gtk_widget_destroy (window);
  g_rmdir (folder);
}

static void
test_passphrase_generate (void)
{
  GtkWidget *window = gtk_window_new (GTK_WINDOW_TOPLEVEL);
  ConsolePassphrasePage *page = CONSOLE_PASSPHRASE_PAGE (console_passphrase_page_new ());
  GtkButton *generate = GTK_BUTTON (gtk_widget_get_template_child (
      GTK_WIDGET (page), CONSOLE_TYPE_PASSPHRASE_PAGE, "generate_button"));
  g_autofree char *first = NULL;
  const char *text;

  gtk_container_add (GTK_CONTAINER (window), GTK_WIDGET (page));
  gtk_button_clicked (generate);
  text = gtk_entry_get_text (entry (page, "passphrase_entry"));
  g_assert_cmpuint (strlen (text), ==, 32);
  g_assert_true (console_passphrase_is_ascii (text));
  g_assert_cmpstr (gtk_entry_get_text (entry (page, "confirm_entry")), ==, text);
  /* Shown, to be written down. */
  g_assert_true (gtk_entry_get_visibility (entry (page, "passphrase_entry")));
  first = g_strdup (text);
  gtk_button_clicked (generate);
  g_assert_cmpstr (gtk_entry_get_text (entry (page, "passphrase_entry")), !=, first);

  gtk_widget_destroy (window);
}

static void
test_formatting (void)
{
  g_autofree char *duration = console_format_duration (3725);
  g_autofree char *short_duration = console_format_duration (42);
  g_autofree char *unknown = console_format_duration (-1);

  g_assert_cmpstr (duration, ==, "1 h 02 min");
  g_assert_cmpstr (short_duration, ==, "42 s");
  g_assert_cmpstr (unknown, ==, "—");
  g_assert_cmpstr (console_job_status_label ("warnings"), ==, "Completed with warnings");
}

/* A running job's bar: the share of the expected bytes that is done (in
 * the vault, not only read), with the ETA when the rate is known. */
static void
test_progress_texts (void)
{
  g_autoptr (GVariant) sending = g_variant_ref_sink (g_variant_new_parsed (
      "{'phase': <'Data transfer is in progress…'>, 'bytes-scanned': <uint64 5000000>, "
      "'bytes-done': <uint64 3000000>, 'bytes-expected': <uint64 5000000>, "
      "'rate': <0.0>, 'eta': <int64 -1>}"));
  g_autoptr (GVariant) timed = g_variant_ref_sink (g_variant_new_parsed (
      "{'phase': <'Data transfer is in progress…'>, 'bytes-scanned': <uint64 5000000>, "
      "'bytes-done': <uint64 3000000>, 'bytes-expected': <uint64 5000000>, "
      "'rate': <100000.0>, 'eta': <int64 20>}"));
  g_autoptr (GVariant) unknown = g_variant_ref_sink (
      g_variant_new_parsed ("{'phase': <'Recovering…'>, 'bytes-scanned': <uint64 7000000>, "
                            "'rate': <0.0>, 'eta': <int64 -1>}"));
  g_autoptr (GVariant) recovering = g_variant_ref_sink (g_variant_new_parsed (
      "{'phase': <'Recovering…'>, 'bytes-scanned': <uint64 250000>, "
      "'bytes-expected': <uint64 1000000>, 'rate': <0.0>, 'eta': <int64 -1>}"));
  g_autofree char *text = NULL;
  int percent;

  console_job_row_texts (sending, &percent, &text);
  g_assert_cmpint (percent, ==, 60);
  g_assert_cmpstr (text, ==, "60 % · Data transfer is in progress…");
  g_clear_pointer (&text, g_free);

  console_job_row_texts (timed, &percent, &text);
  g_assert_cmpint (percent, ==, 60);
  g_assert_true (g_str_has_prefix (text, "60 % · "));
  g_assert_true (g_str_has_suffix (text, " · 20 s left"));
  g_clear_pointer (&text, g_free);

  console_job_row_texts (unknown, &percent, &text);
  g_assert_cmpint (percent, ==, -1);
  g_assert_cmpstr (text, ==, "Recovering…");

  /* A recovery: what it wrote out of the total the agent found. */
  g_assert_cmpint (console_job_progress_percent (recovering), ==, 25);
}

/* Job Details names a job's counts and failed items in its kind's words. */
static void
test_job_details_words (void)
{
  g_autofree char *backup = console_job_failed_heading ("backup", 1);
  g_autofree char *recovery = console_job_failed_heading ("recovery", 2);
  g_autofree char *check = console_job_failed_heading ("check", 3);
  g_autofree char *prune = console_job_failed_heading ("prune", 2);

  g_assert_cmpstr (backup, ==, "1 item not backed up:");
  g_assert_cmpstr (recovery, ==, "2 items not recovered:");
  g_assert_cmpstr (check, ==, "3 damaged or missing objects:");
  g_assert_cmpstr (prune, ==, "2 items failed:");
  g_assert_cmpstr (console_job_files_done_label ("backup"), ==, "Files backed up:");
  g_assert_cmpstr (console_job_files_done_label ("recovery"), ==, "Files recovered:");
  g_assert_null (console_job_files_done_label ("check"));
  g_assert_cmpstr (console_job_files_failed_label ("check"), ==, "Damaged or missing:");
  g_assert_cmpstr (console_job_files_failed_label ("recovery"), ==, "Files failed:");
}

int
main (int argc, char **argv)
{
  g_setenv ("LANGUAGE", "C", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  if (!gtk_init_check (&argc, &argv))
    {
      g_test_skip ("no display");
      return g_test_run ();
    }

  g_test_add_func ("/console/passphrase-page/rule", test_passphrase_rule);
  g_test_add_func ("/console/passphrase-page/maximum", test_passphrase_maximum);
  g_test_add_func ("/console/passphrase-page/generate", test_passphrase_generate);
  g_test_add_func ("/console/util/formatting", test_formatting);
  g_test_add_func ("/console/jobs/progress-texts", test_progress_texts);
  g_test_add_func ("/console/jobs/details-words", test_job_details_words);
  return g_test_run ();
}
