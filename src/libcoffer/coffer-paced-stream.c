/* coffer-paced-stream.c: an input stream over bytes, read at a throttle's pace.
 *
 * A network store hands it to its HTTP client as a request body, so the
 * bytes leave at the throttle's rate rather than an object at a time. Each
 * read waits on the throttle, so the stream is deliberately not pollable:
 * GIO then runs its asynchronous reads in worker threads, and the HTTP
 * client's own thread never waits on the throttle.
 */
#include "config.h"

#include "coffer-paced-stream.h"

#include <string.h>

struct _CofferPacedStream
{
  GInputStream parent_instance;

  GBytes *bytes;
  gsize offset;
  CofferStorePacer *pacer;
};

G_DEFINE_FINAL_TYPE (CofferPacedStream, coffer_paced_stream, G_TYPE_INPUT_STREAM)

static gssize
coffer_paced_stream_read (
    GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable, GError **error)
{
  CofferPacedStream *self = COFFER_PACED_STREAM (stream);
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (self->bytes, &size);
  gsize n = MIN (count, size - self->offset);

  n = MIN (n, coffer_store_pacer_piece_size (self->pacer));
  if (n == 0)
    return 0;
  if (!coffer_store_pacer_pace (self->pacer, n, cancellable, error))
    return -1;
  memcpy (buffer, data + self->offset, n);
  self->offset += n;
  return (gssize) n;
}

static gboolean
coffer_paced_stream_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE;
}

static void
coffer_paced_stream_finalize (GObject *object)
{
  CofferPacedStream *self = COFFER_PACED_STREAM (object);

  g_bytes_unref (self->bytes);
  coffer_store_pacer_unref (self->pacer);

  G_OBJECT_CLASS (coffer_paced_stream_parent_class)->finalize (object);
}

static void
coffer_paced_stream_class_init (CofferPacedStreamClass *klass)
{
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = coffer_paced_stream_finalize;
  stream_class->read_fn = coffer_paced_stream_read;
  stream_class->close_fn = coffer_paced_stream_close;
}

static void
coffer_paced_stream_init (CofferPacedStream *self)
{
}

/**
 * coffer_paced_stream_new:
 * @bytes: what the stream gives
 * @pacer: the throttle handle each read waits on
 *
 * Returns: (transfer full): a stream reading @bytes from the start
 */
GInputStream *
coffer_paced_stream_new (GBytes *bytes, CofferStorePacer *pacer)
{
  CofferPacedStream *self;

  g_return_val_if_fail (bytes != NULL && pacer != NULL, NULL);

  self = g_object_new (COFFER_TYPE_PACED_STREAM, NULL);
  self->bytes = g_bytes_ref (bytes);
  self->pacer = coffer_store_pacer_ref (pacer);
  return G_INPUT_STREAM (self);
}
