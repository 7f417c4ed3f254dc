/* Constructors of the panes and overlays, for the pane table and for panes that open each other's. */
#ifndef PKTLENS_UI_PANES_H
#define PKTLENS_UI_PANES_H

#include "ui/screen.h"

struct pane *flows_pane__new(struct ui *ui);
struct pane *probes_pane__new(struct ui *ui);
struct pane *retrans_pane__new(struct ui *ui);
struct pane *drops_pane__new(struct ui *ui);
struct pane *http_pane__new(struct ui *ui);
struct pane *procs_pane__new(struct ui *ui);
struct pane *dns_pane__new(struct ui *ui);
struct pane *tls_pane__new(struct ui *ui);
struct pane *alerts_pane__new(struct ui *ui);
struct pane *firewall_pane__new(struct ui *ui);

/* Overlays (not tabs). */
struct pane *detail_pane__new(struct ui *ui, const struct flow_row *row);
struct pane *help_pane__new(struct ui *ui);

#endif
