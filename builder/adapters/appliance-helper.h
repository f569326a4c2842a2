/* appliance-helper.h: the clone appliance's /usr/sbin/udevadm, a static
 * program embedded in vmstamp (builder/helpers/udevadm.c). */
#ifndef VMSTAMP_APPLIANCE_HELPER_H
#define VMSTAMP_APPLIANCE_HELPER_H

/* Its bytes: from appliance_udevadm_helper up to appliance_udevadm_helper_end. */
extern const unsigned char appliance_udevadm_helper[];
extern const unsigned char appliance_udevadm_helper_end[];

#endif
