/**
 * The kit's own texts (layout, alarm display, dialogs, formatters, errors), shared by every web UI.
 * Words follow the glossary of docs/ui.md ("Glossary"): one word per concept on every page.
 * KIT_EN is typed by KIT_ZH's keys, so a key missing in English does not compile;
 * test/ui/i18n.test.ts checks the rest (empty texts, placeholders, keys used in the source).
 */

export const KIT_ZH = {
  // layout
  'layout.skip': '跳到内容',
  'layout.menu': '菜单',
  'layout.langSwitch': 'English',
  'layout.langSwitchLabel': '切换到英文',
  'layout.logout': '退出登录',
  'layout.role.technician': '技术员',
  'layout.role.admin': '管理员',
  'layout.live.open': '实时',
  'layout.live.connecting': '连接中',
  'layout.live.closed': '实时中断',
  'layout.loading': '加载中…',
  'layout.retry': '重试',
  'layout.empty': '无',
  'layout.notFound': '页面不存在',
  'layout.back': '返回',

  // alarm priorities (ISA-18.2; glossary: 紧急、高、中、低)
  'priority.critical': '紧急',
  'priority.high': '高',
  'priority.medium': '中',
  'priority.low': '低',
  'priority.label': '优先级',

  // alarm states (ISA-18.2 / IEC 62682)
  'state.normal': '正常',
  'state.unacknowledged': '未确认',
  'state.acknowledged': '已确认',
  'state.rtn_unacknowledged': '已恢复未确认',
  'state.latched': '锁存',
  'state.shelved': '已搁置',
  'state.suppressed': '已抑制',
  'state.out_of_service': '已停用',
  'state.label': '状态',
  'alarm.shelvedBy': '{by} 搁置，至 {until}',
  'alarm.shelvedOneShotBy': '{by} 搁置，至恢复正常',
  'alarm.outOfServiceBy': '{by} 停用：{reason}',
  'alarm.suppressedBy': '因 {by} 抑制',
  'alarm.suppressedByDesign': '设计抑制',
  'alarm.level': '{level} 级',
  'alarm.unackMarker': '未确认',

  // value quality
  'quality.good': '良好',
  'quality.partial': '部分',
  'quality.bad': '故障',
  'quality.stale': '过期',

  // booleans and states of things
  'value.true': '是',
  'value.false': '否',
  'value.on': '开',
  'value.off': '关',
  'value.unknown': '未知',
  'value.none': '—',

  // relative ages and durations
  'age.now': '刚刚',
  'age.s': '{n} 秒前',
  'age.min': '{n} 分钟前',
  'age.h': '{n} 小时前',
  'age.d': '{n} 天前',
  'duration.s': '{n} 秒',
  'duration.min': '{n} 分钟',
  'duration.h': '{n} 小时',
  'duration.d': '{n} 天',
  'duration.hmin': '{h} 小时 {min} 分钟',
  'duration.dh': '{d} 天 {h} 小时',

  // confirmation dialog
  'confirm.ok': '确定',
  'confirm.cancel': '取消',
  'confirm.close': '关闭',
  'confirm.pending': '正在执行，等待设备应答…',
  'confirm.succeeded': '成功',
  'confirm.failed': '失败：{message}',

  // chart
  'chart.time': '时间',
  'chart.mean': '平均值',
  'chart.min': '最小值',
  'chart.max': '最大值',
  'chart.setpoint': '设定值',
  'chart.deadband': '死区',
  'chart.resetZoom': '重置缩放',
  'chart.zoomHint': '拖动选择时间段以放大',
  'chart.noData': '该时间段无数据',

  // errors the client itself knows; each app adds err.<CODE> for its server's codes (docs/errors.md)
  'err.NETWORK': '无法连接服务器，请检查网络连接后重试。',
  'err.UNKNOWN': '操作失败（{status}）。',
  'err.SERVER': '服务器内部错误，请按请求号查看日志（{requestId}）。',
} as const;

export type KitKey = keyof typeof KIT_ZH;

export const KIT_EN: Readonly<Record<KitKey, string>> = {
  'layout.skip': 'Skip to content',
  'layout.menu': 'Menu',
  'layout.langSwitch': '中文',
  'layout.langSwitchLabel': 'Switch to Chinese',
  'layout.logout': 'Sign out',
  'layout.role.technician': 'Technician',
  'layout.role.admin': 'Administrator',
  'layout.live.open': 'Live',
  'layout.live.connecting': 'Connecting',
  'layout.live.closed': 'Live updates lost',
  'layout.loading': 'Loading…',
  'layout.retry': 'Retry',
  'layout.empty': 'None',
  'layout.notFound': 'No such page',
  'layout.back': 'Back',

  'priority.critical': 'Critical',
  'priority.high': 'High',
  'priority.medium': 'Medium',
  'priority.low': 'Low',
  'priority.label': 'Priority',

  'state.normal': 'Normal',
  'state.unacknowledged': 'Unacknowledged',
  'state.acknowledged': 'Acknowledged',
  'state.rtn_unacknowledged': 'Returned to normal, unacknowledged',
  'state.latched': 'Latched',
  'state.shelved': 'Shelved',
  'state.suppressed': 'Suppressed',
  'state.out_of_service': 'Out of service',
  'state.label': 'State',
  'alarm.shelvedBy': 'Shelved by {by} until {until}',
  'alarm.shelvedOneShotBy': 'Shelved by {by} until it returns to normal',
  'alarm.outOfServiceBy': 'Out of service by {by}: {reason}',
  'alarm.suppressedBy': 'Suppressed by {by}',
  'alarm.suppressedByDesign': 'Suppressed by design',
  'alarm.level': 'Level {level}',
  'alarm.unackMarker': 'Unacknowledged',

  'quality.good': 'Good',
  'quality.partial': 'Partial',
  'quality.bad': 'Bad',
  'quality.stale': 'Stale',

  'value.true': 'Yes',
  'value.false': 'No',
  'value.on': 'On',
  'value.off': 'Off',
  'value.unknown': 'Unknown',
  'value.none': '—',

  'age.now': 'just now',
  'age.s': '{n} s ago',
  'age.min': '{n} min ago',
  'age.h': '{n} h ago',
  'age.d': '{n} d ago',
  'duration.s': '{n} s',
  'duration.min': '{n} min',
  'duration.h': '{n} h',
  'duration.d': '{n} d',
  'duration.hmin': '{h} h {min} min',
  'duration.dh': '{d} d {h} h',

  'confirm.ok': 'Confirm',
  'confirm.cancel': 'Cancel',
  'confirm.close': 'Close',
  'confirm.pending': 'Working, waiting for the device to answer…',
  'confirm.succeeded': 'Succeeded',
  'confirm.failed': 'Failed: {message}',

  'chart.time': 'Time',
  'chart.mean': 'Mean',
  'chart.min': 'Minimum',
  'chart.max': 'Maximum',
  'chart.setpoint': 'Set point',
  'chart.deadband': 'Deadband',
  'chart.resetZoom': 'Reset zoom',
  'chart.zoomHint': 'Drag across the chart to zoom in',
  'chart.noData': 'No data in this period',

  'err.NETWORK': 'Cannot reach the server. Check the network connection and try again.',
  'err.UNKNOWN': 'The operation failed ({status}).',
  'err.SERVER': 'Internal server error; look for request {requestId} in the log.',
};
