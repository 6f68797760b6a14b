/* console-passphrase-page.c: the Encryption Setting page — a passphrase
 * (typed, or made by Generate Passphrase) and its confirmation, checked as
 * the user types, and the folder to save it in.
 *
 * The page is complete when the passphrase meets the rule (16 to 1,024
 * printable ASCII characters), the confirmation matches and the save folder
 * is an existing folder; `complete` is notified only when that changes. The
 * rule label always says what is missing. When the save folder is on this
 * computer the page shows the reference's warning, but allows it.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "console-passphrase-page.h"
#include "console-util.h"

struct _ConsolePassphrasePage
{
  GtkBox parent_instance;

  GtkEntry *passphrase_entry;
  GtkEntry *confirm_entry;
  GtkToggleButton *show_check;
  GtkWidget *generate_button;
  GtkLevelBar *strength_bar;
  GtkLabel *strength_label;
  GtkLabel *rule_label;
  GtkEntry *save_entry;
  GtkWidget *warning_label;
  GtkLabel *error_label;

  gboolean complete;
};

G_DEFINE_FINAL_TYPE (ConsolePassphrasePage, console_passphrase_page, GTK_TYPE_BOX)

enum
{
  PROP_0,
  PROP_COMPLETE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
strength_text (guint strength)
{
  switch (strength)
    {
      case 0:
        return "";
      case 1:
        /* Translators: passphrase strength. */
        return _ ("Too short");
      case 2:
        /* Translators: passphrase strength. */
        return _ ("Fair");
      case 3:
        /* Translators: passphrase strength. */
        return _ ("Good");
      default:
        /* Translators: passphrase strength. */
        return _ ("Strong");
    }
}

static void
update (ConsolePassphrasePage *self)
{
  const char *passphrase = gtk_entry_get_text (self->passphrase_entry);
  const char *confirmation = gtk_entry_get_text (self->confirm_entry);
  const char *folder = gtk_entry_get_text (self->save_entry);
  guint missing = console_passphrase_missing (passphrase);
  guint excess = console_passphrase_excess (passphrase);
  gboolean ascii = console_passphrase_is_ascii (passphrase);
  gboolean matches = g_strcmp0 (passphrase, confirmation) == 0;
  gboolean folder_ok =
      *folder != '\0' && g_path_is_absolute (folder) && g_file_test (folder, G_FILE_TEST_IS_DIR);
  guint strength = console_passphrase_strength (passphrase);
  g_autofree char *rule = NULL;
  gboolean complete;

  if (!ascii)
    rule = g_strdup (_ ("Use only letters, digits, spaces and the symbols of an English "
                        "keyboard (printable ASCII)."));
  else if (missing > 0)
    rule = g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "At least 16 characters: %u more character needed.",
                     "At least 16 characters: %u more characters needed.", missing),
        missing);
  else if (excess > 0)
    rule = g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "At most 1,024 characters: %u character too many.",
                     "At most 1,024 characters: %u characters too many.", excess),
        excess);
  else if (*confirmation == '\0')
    rule = g_strdup (_ ("At least 16 characters: ✓. Now type it again to confirm it."));
  else if (!matches)
    rule = g_strdup (_ ("At least 16 characters: ✓. The confirmation does not match."));
  else if (*folder == '\0')
    rule = g_strdup (_ ("At least 16 characters: ✓. Confirmed. Now choose where to save it."));
  else if (!folder_ok)
    rule = g_strdup (_ ("At least 16 characters: ✓. Confirmed. The save location is not an "
                        "existing folder."));
  else
    rule = g_strdup (_ ("At least 16 characters: ✓. Confirmed."));
  gtk_label_set_text (self->rule_label, rule);

  gtk_level_bar_set_value (self->strength_bar, ascii ? strength : 1);
  gtk_label_set_text (self->strength_label, strength_text (ascii ? strength : 1));

  gtk_widget_set_visible (self->warning_label,
                          folder_ok && console_folder_is_on_this_machine (folder));

  complete = ascii && missing == 0 && excess == 0 && matches && folder_ok;
  if (complete != self->complete)
    {
      self->complete = complete;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
    }
}

static void
entry_changed_cb (ConsolePassphrasePage *self, GtkEntry *entry)
{
  /* What the agent said is about the old text. */
  gtk_widget_hide (GTK_WIDGET (self->error_label));
  update (self);
}

static void
show_toggled_cb (ConsolePassphrasePage *self, GtkToggleButton *button)
{
  gboolean show = gtk_toggle_button_get_active (button);

  gtk_entry_set_visibility (self->passphrase_entry, show);
  gtk_entry_set_visibility (self->confirm_entry, show);
}

static void
generate_clicked_cb (ConsolePassphrasePage *self, GtkButton *button)
{
  char *passphrase = console_passphrase_generate ();

  gtk_entry_set_text (self->passphrase_entry, passphrase);
  gtk_entry_set_text (self->confirm_entry, passphrase);
  console_passphrase_clear (passphrase);
  /* A generated passphrase is of no use unseen: show it, to be written down. */
  gtk_toggle_button_set_active (self->show_check, TRUE);
}

static void
browse_clicked_cb (ConsolePassphrasePage *self, GtkButton *button)
{
  console_browse (GTK_WIDGET (self), self->save_entry, GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                  _ ("Save the Passphrase In"), NULL);
}

static void
console_passphrase_page_get_property (GObject *object,
                                      guint prop_id,
                                      GValue *value,
                                      GParamSpec *pspec)
{
  ConsolePassphrasePage *self = CONSOLE_PASSPHRASE_PAGE (object);

  switch (prop_id)
    {
      case PROP_COMPLETE:
        g_value_set_boolean (value, self->complete);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
console_passphrase_page_class_init (ConsolePassphrasePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = console_passphrase_page_get_property;

  /**
   * ConsolePassphrasePage:complete:
   *
   * Whether the passphrase meets the rule, is confirmed, and has a folder
   * to be saved in.
   */
  properties[PROP_COMPLETE] =
      g_param_spec_boolean ("complete", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/coffer/Console/console-passphrase-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ConsolePassphrasePage, passphrase_entry);
  gtk_widget_class_bind_template_child (widget_class, ConsolePassphrasePage, confirm_entry);
  gtk_widget_class_bind_template_child (widget_class, ConsolePassphrasePage, show_check);
  gtk_widget_class_bind_template_child (widget_class, ConsolePassphrasePage, generate_button);
  gtk_widget_class_bind_template_child (widget_class, ConsolePassphrasePage, strength_bar);
  gtk_widget_class_bind_template_child (widget_class, ConsolePassphrasePage, strength_label);
  gtk_widget_class_bind_template_child (widget_class, ConsolePassphrasePage, rule_label);
  gtk_widget_class_bind_template_child (widget_class, ConsolePassphrasePage, save_entry);
  gtk_widget_class_bind_template_child (widget_class, ConsolePassphrasePage, warning_label);
  gtk_widget_class_bind_template_child (widget_class, ConsolePassphrasePage, error_label);
  gtk_widget_class_bind_template_callback (widget_class, entry_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, show_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, generate_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, browse_clicked_cb);
}

static void
console_passphrase_page_init (ConsolePassphrasePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  update (self);
}

GtkWidget *
console_passphrase_page_new (void)
{
  return g_object_new (CONSOLE_TYPE_PASSPHRASE_PAGE, NULL);
}

gboolean
console_passphrase_page_get_complete (ConsolePassphrasePage *self)
{
  g_return_val_if_fail (CONSOLE_IS_PASSPHRASE_PAGE (self), FALSE);

  return self->complete;
}

/**
 * console_passphrase_page_get_passphrase:
 * @self: a #ConsolePassphrasePage
 *
 * Returns: the passphrase as typed (check `complete` first)
 */
const char *
console_passphrase_page_get_passphrase (ConsolePassphrasePage *self)
{
  g_return_val_if_fail (CONSOLE_IS_PASSPHRASE_PAGE (self), NULL);

  return gtk_entry_get_text (self->passphrase_entry);
}

/**
 * console_passphrase_page_get_save_folder:
 * @self: a #ConsolePassphrasePage
 *
 * Returns: the folder to save the passphrase in
 */
const char *
console_passphrase_page_get_save_folder (ConsolePassphrasePage *self)
{
  g_return_val_if_fail (CONSOLE_IS_PASSPHRASE_PAGE (self), NULL);

  return gtk_entry_get_text (self->save_entry);
}

/**
 * console_passphrase_page_get_rule_text:
 * @self: a #ConsolePassphrasePage
 *
 * Returns: what the rule line says now
 */
const char *
console_passphrase_page_get_rule_text (ConsolePassphrasePage *self)
{
  g_return_val_if_fail (CONSOLE_IS_PASSPHRASE_PAGE (self), NULL);

  return gtk_label_get_text (self->rule_label);
}

/**
 * console_passphrase_page_get_warns_this_machine:
 * @self: a #ConsolePassphrasePage
 *
 * Returns: whether the page warns that the save folder is on this computer
 */
gboolean
console_passphrase_page_get_warns_this_machine (ConsolePassphrasePage *self)
{
  g_return_val_if_fail (CONSOLE_IS_PASSPHRASE_PAGE (self), FALSE);

  return gtk_widget_get_visible (self->warning_label);
}

/**
 * console_passphrase_page_set_error:
 * @self: a #ConsolePassphrasePage
 * @message: (nullable): what the agent said about the passphrase, or %NULL
 *
 * Shows @message on the page until the user changes something.
 */
void
console_passphrase_page_set_error (ConsolePassphrasePage *self, const char *message)
{
  g_return_if_fail (CONSOLE_IS_PASSPHRASE_PAGE (self));

  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}
