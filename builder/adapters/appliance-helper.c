/* appliance-helper.c: the clone appliance's /usr/sbin/udevadm
 * (builder/helpers/udevadm.c), built as a static program before this
 * library and embedded here byte for byte. VMSTAMP_UDEVADM_HELPER: its
 * path (CMakeLists.txt). */
#include "adapters/appliance-helper.h"

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl appliance_udevadm_helper\n"
        ".type appliance_udevadm_helper, @object\n"
        "appliance_udevadm_helper:\n"
        ".incbin \"" VMSTAMP_UDEVADM_HELPER "\"\n"
        ".globl appliance_udevadm_helper_end\n"
        "appliance_udevadm_helper_end:\n"
        ".previous\n");
