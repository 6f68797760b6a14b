/* console-status-page.c: a centred icon, title and description for a page
 * that has nothing to list yet or a problem to explain.
 *
 * Children added in a .ui file (a button, a link) go below the description,
 * centred, so a page can offer the one thing to do next.
 */
#include "config.h"

#include "console-status-page.h"

struct _ConsoleStatusPage
{
  GtkBin parent_instance;

  GtkImage *image;
  GtkLabel *title_label;
  GtkLabel *description_label;
  GtkBox *child_box;
};

static void console_status_page_buildable_init (GtkBuildableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ConsoleStatusPage,
                               console_status_page,
                               GTK_TYPE_BIN,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_BUILDABLE,
                                                      console_status_page_buildable_init))

enum
{
  PROP_0,
  PROP_ICON_NAME,
  PROP_TITLE,
  PROP_DESCRIPTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GtkBuildableIface *parent_buildable_iface;

static void
console_status_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  ConsoleStatusPage *self = CONSOLE_STATUS_PAGE (object);

  switch (prop_id)
    {
      case PROP_ICON_NAME:
        g_value_set_string (value, console_status_page_get_icon_name (self));
        break;
      case PROP_TITLE:
        g_value_set_string (value, console_status_page_get_title (self));
        break;
      case PROP_DESCRIPTION:
        g_value_set_string (value, console_status_page_get_description (self));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
console_status_page_set_property (GObject *object,
                                  guint prop_id,
                                  const GValue *value,
                                  GParamSpec *pspec)
{
  ConsoleStatusPage *self = CONSOLE_STATUS_PAGE (object);

  switch (prop_id)
    {
      case PROP_ICON_NAME:
        console_status_page_set_icon_name (self, g_value_get_string (value));
        break;
      case PROP_TITLE:
        console_status_page_set_title (self, g_value_get_string (value));
        break;
      case PROP_DESCRIPTION:
        console_status_page_set_description (self, g_value_get_string (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
console_status_page_class_init (ConsoleStatusPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = console_status_page_get_property;
  object_class->set_property = console_status_page_set_property;

  properties[PROP_ICON_NAME] =
      g_param_spec_string ("icon-name", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
      g_param_spec_string ("title", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DESCRIPTION] =
      g_param_spec_string ("description", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/coffer/Console/console-status-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ConsoleStatusPage, image);
  gtk_widget_class_bind_template_child (widget_class, ConsoleStatusPage, title_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleStatusPage, description_label);
  gtk_widget_class_bind_template_child (widget_class, ConsoleStatusPage, child_box);
}

static void
console_status_page_init (ConsoleStatusPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/* Children of the page in a .ui file go into the box below the description;
 * until the template is built (child_box still unset) they are the
 * template's own and go to GtkBin. */
static void
console_status_page_add_child (GtkBuildable *buildable,
                               GtkBuilder *builder,
                               GObject *child,
                               const char *type)
{
  ConsoleStatusPage *self = CONSOLE_STATUS_PAGE (buildable);

  if (self->child_box != NULL && type == NULL && GTK_IS_WIDGET (child))
    {
      gtk_container_add (GTK_CONTAINER (self->child_box), GTK_WIDGET (child));
      gtk_widget_show (GTK_WIDGET (self->child_box));
    }
  else
    parent_buildable_iface->add_child (buildable, builder, child, type);
}

static void
console_status_page_buildable_init (GtkBuildableIface *iface)
{
  parent_buildable_iface = g_type_interface_peek_parent (iface);
  iface->add_child = console_status_page_add_child;
}

GtkWidget *
console_status_page_new (void)
{
  return g_object_new (CONSOLE_TYPE_STATUS_PAGE, NULL);
}

const char *
console_status_page_get_icon_name (ConsoleStatusPage *self)
{
  const char *icon_name = NULL;

  g_return_val_if_fail (CONSOLE_IS_STATUS_PAGE (self), NULL);

  gtk_image_get_icon_name (self->image, &icon_name, NULL);
  return icon_name;
}

void
console_status_page_set_icon_name (ConsoleStatusPage *self, const char *icon_name)
{
  g_return_if_fail (CONSOLE_IS_STATUS_PAGE (self));

  if (g_strcmp0 (icon_name, console_status_page_get_icon_name (self)) == 0)
    return;

  gtk_image_set_from_icon_name (self->image, icon_name, GTK_ICON_SIZE_DIALOG);
  gtk_widget_set_visible (GTK_WIDGET (self->image), icon_name != NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ICON_NAME]);
}

const char *
console_status_page_get_title (ConsoleStatusPage *self)
{
  g_return_val_if_fail (CONSOLE_IS_STATUS_PAGE (self), NULL);

  return gtk_label_get_text (self->title_label);
}

void
console_status_page_set_title (ConsoleStatusPage *self, const char *title)
{
  g_return_if_fail (CONSOLE_IS_STATUS_PAGE (self));

  if (g_strcmp0 (title, console_status_page_get_title (self)) == 0)
    return;

  gtk_label_set_text (self->title_label, title);
  gtk_widget_set_visible (GTK_WIDGET (self->title_label), title != NULL && *title != '\0');
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

const char *
console_status_page_get_description (ConsoleStatusPage *self)
{
  g_return_val_if_fail (CONSOLE_IS_STATUS_PAGE (self), NULL);

  return gtk_label_get_text (self->description_label);
}

void
console_status_page_set_description (ConsoleStatusPage *self, const char *description)
{
  g_return_if_fail (CONSOLE_IS_STATUS_PAGE (self));

  if (g_strcmp0 (description, console_status_page_get_description (self)) == 0)
    return;

  gtk_label_set_text (self->description_label, description);
  gtk_widget_set_visible (GTK_WIDGET (self->description_label),
                          description != NULL && *description != '\0');
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DESCRIPTION]);
}
