/** Draws the tray from a TrayModel: icon, tooltip and a context menu rebuilt on every change. */
import { join } from 'node:path';
import { Menu, nativeImage, Tray, type MenuItemConstructorOptions, type NativeImage } from 'electron';
import { trayIconFile, type MenuAction, type MenuItemModel, type TrayIcon, type TrayModel } from './tray-model.js';

function template(items: MenuItemModel[], act: (action: MenuAction) => void): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    switch (item.type) {
      case 'separator':
        return { type: 'separator' };
      case 'submenu':
        return { label: item.label, submenu: template(item.items, act) };
      case 'item': {
        const action = item.action;
        return { label: item.label, enabled: item.enabled, ...(action ? { click: () => act(action) } : {}) };
      }
    }
  });
}

export class TrayService {
  private tray: Tray | null = null;
  private readonly images = new Map<TrayIcon, NativeImage>();
  private shown: TrayModel | null = null;

  constructor(
    private readonly iconsDir: string,
    private readonly act: (action: MenuAction) => void,
  ) {}

  render(model: TrayModel): void {
    // Transfer progress changes many times a second; only a visible difference redraws.
    if (this.shown && JSON.stringify(this.shown) === JSON.stringify(model)) return;
    const tray = this.tray ?? this.create(model.icon);
    if (this.shown?.icon !== model.icon) tray.setImage(this.image(model.icon));
    if (this.shown?.tooltip !== model.tooltip) tray.setToolTip(model.tooltip);
    tray.setContextMenu(Menu.buildFromTemplate(template(model.menu, this.act)));
    this.shown = model;
  }

  destroy(): void {
    this.tray?.destroy();
    this.tray = null;
  }

  private create(icon: TrayIcon): Tray {
    const tray = new Tray(this.image(icon));
    // Windows and Linux open the app on a click; macOS shows the menu, as its menu bar does.
    if (process.platform !== 'darwin') tray.on('click', () => this.act({ kind: 'open-window' }));
    this.tray = tray;
    return tray;
  }

  private image(icon: TrayIcon): NativeImage {
    let image = this.images.get(icon);
    if (!image) {
      image = nativeImage.createFromPath(join(this.iconsDir, trayIconFile(icon, process.platform)));
      if (process.platform === 'darwin') image.setTemplateImage(true);
      this.images.set(icon, image);
    }
    return image;
  }
}
