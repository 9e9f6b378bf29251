/* SPDX-License-Identifier: Apache-2.0 */
/* Umbrella header for libsevattest. */
#ifndef SEVATTEST_SEVATTEST_H
#define SEVATTEST_SEVATTEST_H

#include "sevattest/bytes.h"
#include "sevattest/cert.h"
#include "sevattest/crypto.h"
#include "sevattest/der.h"
#include "sevattest/emu.h"
#include "sevattest/emu_client.h"
#include "sevattest/emu_proto.h"
#include "sevattest/encoding.h"
#include "sevattest/error.h"
#include "sevattest/gctx.h"
#include "sevattest/guest.h"
#include "sevattest/guest_msg.h"
#include "sevattest/idblock.h"
#include "sevattest/json.h"
#include "sevattest/kds.h"
#include "sevattest/launchcfg.h"
#include "sevattest/measure.h"
#include "sevattest/ovmf.h"
#include "sevattest/product.h"
#include "sevattest/qmp.h"
#include "sevattest/report.h"
#include "sevattest/sev.h"
#include "sevattest/sev_cert.h"
#include "sevattest/sev_verify.h"
#include "sevattest/sevhost.h"
#include "sevattest/snp_policy.h"
#include "sevattest/tcb.h"
#include "sevattest/trust.h"
#include "sevattest/verify.h"

#endif
